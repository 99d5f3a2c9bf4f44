/*
 * asset: the files of console/www/, embedded at build time (the Makefile's generated
 * console_assets.c), found by exact name only (there is no file system behind them),
 * served with their own Content-Type, the security headers and Cache-Control: no-cache.
 */
#include "console.h"

#include <string.h>

#include <event2/http.h>

const struct console_asset *
asset_find(const char *name)
{
	for (size_t i = 0; i < console_assets_count; i++)
		if (strcmp(console_assets[i].name, name) == 0)
			return &console_assets[i];
	return NULL;
}

static const char *
asset_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"}, {".json", "application/json; charset=utf-8"},
		{".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
		{".woff2", "font/woff2"}, {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

void
asset_send(struct evhttp_request *req, const struct console_asset *a, int code, bool head)
{
	web_security_headers(req, false);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
	web_send(req, code, asset_type(a->name), a->data, a->len, head);
}

void
asset_page(struct evhttp_request *req, const char *page, int code, bool head)
{
	const struct console_asset *a = asset_find(page);
	if (a == NULL)
		a = asset_find("index.html");
	if (a == NULL) {
		web_plain_error(req, 404, "not-found", "no such page");
		return;
	}
	asset_send(req, a, code, head);
}

