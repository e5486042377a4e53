/* Attaching to containers over an upgraded connection, and sizing their terminal. */
#pragma once
#include "api/api_internal.h"

void api_container_attach(struct api_request *r);
void api_container_resize(struct api_request *r);
