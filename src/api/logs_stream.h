/* GET /containers/{id}/logs: the json-file log as Docker streams it. */
#pragma once
#include "api/api_internal.h"

void api_container_logs(struct api_request *r);
