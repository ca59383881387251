// SPDX-License-Identifier: MIT
#include <string.h>

#include "web.h"

/* The table is build/web/assets.c, made by scripts/web-assets.sh. */
const struct web_asset *web_asset_find(const char *path)
{
	size_t i;

	for (i = 0; i < web_nassets; i++)
		if (!strcmp(web_assets[i].path, path))
			return &web_assets[i];
	return NULL;
}
