#include "devices.h"

#include <errno.h>
#include <stdlib.h>

#include "../lib/cleanup.h"

static const struct oci_device_cgroup default_allows[] = {
    {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"}, /* mknod of any node; access is what counts */
    {true, 'c', 1, 3, "rwm"},    {true, 'c', 1, 5, "rwm"}, /* null, zero */
    {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"}, /* full, random */
    {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"}, /* urandom, tty */
    {true, 'c', 5, 1, "rwm"},    {true, 'c', 5, 2, "rwm"}, /* console, ptmx */
    {true, 'c', 136, -1, "rwm"},                           /* /dev/pts/N */
};

int oci_devices_effective_rules(const struct oci_spec *s, struct oci_device_cgroup **out, size_t *n, berr *e)
{
	const struct oci_resources *r = &s->linux_.resources;
	size_t total = r->n_devices + ARRAY_SIZE(default_allows) + s->linux_.n_devices;
	struct oci_device_cgroup *rules = calloc(total, sizeof *rules);
	if (!rules)
		return berr_set(e, ENOMEM, "device rules");
	size_t k = 0;
	for (size_t i = 0; i < r->n_devices; i++)
		rules[k++] = r->devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(default_allows); i++)
		rules[k++] = default_allows[i];
	for (size_t i = 0; i < s->linux_.n_devices; i++) {
		const struct oci_device *d = &s->linux_.devices[i];
		if (d->type == 'p')
			continue; /* fifos are not device nodes */
		rules[k++] = (struct oci_device_cgroup){true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm"};
	}
	*out = rules;
	*n = k;
	return 0;
}
