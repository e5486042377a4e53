#include "engine/names.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "lib/cleanup.h"

/* Words of our own: a quay's mood and what ties up at it. */
static const char *const adjectives[] = {
    "amber",  "bold",   "brisk",   "calm",   "clever", "crisp", "dapper", "eager",  "fond",   "gentle",
    "glad",   "golden", "hardy",   "jolly",  "keen",   "kind",  "lively", "lucid",  "merry",  "mellow",
    "nimble", "noble",  "patient", "plucky", "proud",  "quiet", "quick",  "rapid",  "serene", "sharp",
    "shy",    "silver", "steady",  "sturdy", "sunny",  "swift", "tidy",   "trusty", "vivid",  "witty",
};
static const char *const nouns[] = {
    "anchor", "barge",   "beacon", "bollard",  "buoy",   "cargo",   "capstan",    "clipper", "cutter",  "dinghy",
    "dock",   "ferry",   "galley", "harbor",   "hawser", "jetty",   "keel",       "ketch",   "lantern", "mast",
    "marina", "mooring", "pier",   "pilot",    "quay",   "rudder",  "schooner",   "sextant", "skiff",   "sloop",
    "tender", "tugboat", "wharf",  "windlass", "yawl",   "compass", "lighthouse", "caravel", "frigate", "lugger",
};

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = 0;
	return v;
}

bool eng_name_valid(const char *name)
{
	if (name[0] == '/')
		name++;
	if (!isalnum((unsigned char)name[0]) || name[1] == '\0')
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

void eng_name_generate(char *buf, size_t size)
{
	snprintf(buf, size, "%s_%s", adjectives[random_u32() % ARRAY_SIZE(adjectives)],
		 nouns[random_u32() % ARRAY_SIZE(nouns)]);
}

void eng_id_generate(char buf[65])
{
	unsigned char raw[32];
	if (getrandom(raw, sizeof raw, 0) != sizeof raw)
		memset(raw, 0, sizeof raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
}
