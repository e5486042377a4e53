/* Reading JSON documents with errors that name the field ("process.args[0]: expected a string"). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Parse text; the error gives line and column. */
json_t *b_json_parse(const char *text, const char *what, berr *e);

/*
 * Typed getters on an object member. A missing member leaves *out untouched and
 * returns 0 (with *present false when given); a member of the wrong type is an
 * error naming "<field>.<key>".
 */
int b_json_str(json_t *obj, const char *field, const char *key, char **out, bool *present, berr *e);
int b_json_bool(json_t *obj, const char *field, const char *key, bool *out, bool *present, berr *e);
int b_json_i64(json_t *obj, const char *field, const char *key, int64_t *out, bool *present, berr *e);
int b_json_u64(json_t *obj, const char *field, const char *key, uint64_t *out, bool *present, berr *e);
/* Array of strings -> NULL-terminated strv (freshly allocated). */
int b_json_strv(json_t *obj, const char *field, const char *key, char ***out, berr *e);
/* Object of string values -> NULL-terminated k0,v0,k1,v1 list. */
int b_json_str_map(json_t *obj, const char *field, const char *key, char ***out, berr *e);
/* The member if it is an object (or absent -> NULL, 0); wrong type -> error. */
int b_json_obj(json_t *obj, const char *field, const char *key, json_t **out, berr *e);
int b_json_arr(json_t *obj, const char *field, const char *key, json_t **out, berr *e);

/*
 * A copy of the object obj in which a key that matches one of names (NULL-terminated) without
 * regard to case is spelled as there, as Go's encoding/json (Docker's decoder) reads request
 * bodies ("detachKeys" is DetachKeys); an exact spelling wins over a folded one. Other keys stay.
 */
json_t *b_json_fold_keys(json_t *obj, const char *const *names);

/* "an object", "a string" ... for messages like "expected an integer, got a string". */
const char *b_json_type_name(json_t *v);

void b_strv_free(char **v);
size_t b_strv_len(char *const *v);
/* A copy of v in *out (NULL for NULL); -1 when out of memory, with nothing allocated. */
int b_strv_dup(char *const *v, char ***out);
