/*
 * libFuzzer target for the config.json parser: oci_spec_parse() and oci_process_parse().
 *
 * Every input is handed to oci_spec_parse() and, whole, to oci_process_parse() (runc exec
 * --process takes a bare process object); when it is a JSON object with a "process"
 * member, that member is also re-serialised and parsed alone, so the process parser sees
 * well-formed objects as often as the full parser does. Neither may crash, leak, or break
 * the promises spec.h makes: an error always carries a message, and a parsed config has
 * what the parser said it checked (args[0], absolute cwd, mount destinations ...).
 *
 * Built and run by tests/fuzz/run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "oci/spec.h"

/* Abort (a crash libFuzzer records) when a promise is broken. */
#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* Touch every byte of a string so ASan sees a dangling or unterminated one. */
static volatile size_t sink;
static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void touch_strv(char **v)
{
	for (; v && *v; v++)
		touch(*v);
}

/* A NULL-terminated k0,v0,... list: an even number of entries, none NULL. */
static void check_pairs(char **v)
{
	size_t n = 0;
	for (; v && v[n]; n++)
		touch(v[n]);
	CHECK(n % 2 == 0);
}

static void check_process(const struct oci_process *p)
{
	CHECK(p->args && p->args[0]);
	touch_strv(p->args);
	touch_strv(p->env);
	CHECK(p->cwd && p->cwd[0] == '/');
	for (size_t i = 0; i < p->n_rlimits; i++) {
		CHECK(p->rlimits[i].type);
		CHECK(p->rlimits[i].resource >= 0);
	}
	for (size_t i = 0; i < p->user.n_additional_gids; i++)
		sink += p->user.additional_gids[i];
	if (p->has_oom_score_adj)
		CHECK(p->oom_score_adj >= -1000 && p->oom_score_adj <= 1000);
	touch(p->user.username);
	touch(p->apparmor_profile);
	touch(p->selinux_label);
}

static void check_hooks(const struct oci_hook *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(h[i].path && h[i].path[0] == '/');
		touch_strv(h[i].args);
		touch_strv(h[i].env);
		if (h[i].has_timeout)
			CHECK(h[i].timeout > 0);
	}
}

static void check_spec(const struct oci_spec *s)
{
	CHECK(s->oci_version);
	CHECK(s->root_path && s->root_path[0]);
	if (s->has_process)
		check_process(&s->process);
	touch(s->hostname);
	touch(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct oci_mount *m = &s->mounts[i];
		CHECK(m->destination && m->destination[0] == '/');
		CHECK(m->type || m->bind);
		CHECK(!m->bind || m->source);
		touch(m->source);
		touch(m->type);
		touch(m->data);
		touch_strv(m->options);
	}
	const struct oci_hooks *h = &s->hooks;
	check_hooks(h->prestart, h->n_prestart);
	check_hooks(h->create_runtime, h->n_create_runtime);
	check_hooks(h->create_container, h->n_create_container);
	check_hooks(h->start_container, h->n_start_container);
	check_hooks(h->poststart, h->n_poststart);
	check_hooks(h->poststop, h->n_poststop);
	check_pairs(s->annotations);

	const struct oci_linux *l = &s->linux_;
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		CHECK(!l->namespaces[t].path || l->namespaces[t].present);
		touch(l->namespaces[t].path);
	}
	for (size_t i = 0; i < l->n_devices; i++) {
		CHECK(l->devices[i].path && l->devices[i].path[0] == '/');
		CHECK(l->devices[i].type && strchr("cbup", l->devices[i].type));
	}
	touch(l->cgroups_path);
	const struct oci_resources *r = &l->resources;
	for (size_t i = 0; i < r->n_devices; i++) {
		CHECK(strchr("acb", r->devices[i].type));
		touch(r->devices[i].access);
	}
	touch(r->cpu.cpus);
	touch(r->cpu.mems);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		CHECK(r->hugepage_limits[i].page_size);
	check_pairs(r->unified);
	touch(l->rootfs_propagation);
	touch_strv(l->masked_paths);
	touch_strv(l->readonly_paths);
	touch(l->mount_label);
	check_pairs(l->sysctl);
	if (l->seccomp) {
		const struct oci_seccomp *sc = l->seccomp;
		touch_strv(sc->architectures);
		touch_strv(sc->flags);
		touch(sc->listener_path);
		touch(sc->listener_metadata);
		for (size_t i = 0; i < sc->n_syscalls; i++) {
			CHECK(sc->syscalls[i].names && sc->syscalls[i].names[0]);
			touch_strv(sc->syscalls[i].names);
			for (size_t k = 0; k < sc->syscalls[i].n_args; k++)
				CHECK(sc->syscalls[i].args[k].op);
		}
	}
	touch(l->personality_domain);
}

static void fuzz_spec(const char *text)
{
	struct oci_spec *s = NULL;
	berr e = {0};
	if (oci_spec_parse(text, &s, &e) == 0) {
		CHECK(s);
		check_spec(s);
		oci_spec_free(s);
	} else {
		CHECK(e.msg); /* every error says what is wrong */
		CHECK(!s);
	}
	berr_clear(&e);
}

static void fuzz_process(const char *text)
{
	struct oci_process p;
	berr e = {0};
	memset(&p, 0, sizeof p); /* as exec's caller has it; invalid JSON leaves it untouched */
	if (oci_process_parse(text, &p, &e) == 0) {
		check_process(&p);
		oci_process_free(&p);
	} else {
		CHECK(e.msg);
		/* A failed parse leaves nothing to free: the struct is cleared. */
		CHECK(!p.args && !p.env && !p.cwd && !p.rlimits && !p.user.additional_gids);
	}
	berr_clear(&e);
}

/* The "process" member of a config, alone, as text; NULL when there is none. */
static char *process_member(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		return NULL;
	char *out = NULL;
	json_t *p = json_is_object(j) ? json_object_get(j, "process") : NULL;
	if (p && (json_is_object(p) || json_is_array(p)))
		out = json_dumps(p, JSON_COMPACT);
	json_decref(j);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parsers take C strings: stop at the first NUL, as reading a file would not. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	fuzz_spec(text);
	fuzz_process(text);
	char *proc = process_member(text);
	if (proc) {
		fuzz_process(proc);
		free(proc);
	}
	free(text);
	return 0;
}
