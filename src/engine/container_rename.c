/* POST /containers/{id}/rename: a new name under Docker's rules, kept across daemon restarts. */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "engine/net_attach.h"
#include "engine/names.h"

int eng_container_rename(struct eng *eng, const char *name, const char *new_name, berr *e)
{
	if (!name || !*name || !new_name || !*new_name)
		return berr_invalid(e, "Neither old nor new names may be empty");
	char *slash_name = NULL;
	if (asprintf(&slash_name, "%s%s", new_name[0] == '/' ? "" : "/", new_name) < 0)
		return berr_set(e, ENOMEM, "renaming %s", name);
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r < 0)
		goto out;
	const char *by;
	if (strcmp(c->name, slash_name) == 0)
		r = berr_invalid(e, "Renaming a container with the same name as its current name");
	else if (!eng_name_valid(new_name))
		r = berr_invalid(e,
				 "Error when allocating new name: Invalid container name (%s), only "
				 "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				 new_name);
	else if (ctr_name_taken(eng, slash_name, &by))
		r = berr_plain(e, EEXIST,
			       "Error when allocating new name: Conflict. The container name \"%s\" is already in use "
			       "by container \"%s\". You have to remove (or rename) that container to be able to "
			       "reuse that name.",
			       slash_name, by);
	else if (c->removing)
		r = berr_plain(e, EBUSY, "removal of container %s is already in progress", c->id);
	if (r == 0) {
		char *old = c->name;
		c->name = slash_name;
		json_object_set_new(c->doc, "Name", json_string(slash_name));
		if ((r = ctr_save(eng, c, e)) < 0) {
			c->name = old;
			json_object_set_new(c->doc, "Name", json_string(old));
		} else {
			slash_name = old;
			ctr_event(eng, c, "rename", json_pack("{s:s}", "oldName", old));
			ctr_net_renamed(eng, c);
		}
	}
	ctr_put(eng, c);
out:
	pthread_mutex_unlock(&eng->lock);
	free(slash_name);
	return r;
}
