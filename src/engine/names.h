/* Container names: Docker's rules for the ones people give, and generated ones in adjective_noun form. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* "[a-zA-Z0-9][a-zA-Z0-9_.-]+", optionally after one '/'. */
bool eng_name_valid(const char *name);
/* A random "adjective_noun" into buf (at least 64 bytes). */
void eng_name_generate(char *buf, size_t size);
/* 64 random hex digits and a NUL into buf. */
void eng_id_generate(char buf[65]);
