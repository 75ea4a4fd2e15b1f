/* routes: the one route table. Order matters only for readability. */
#include "handlers.h"
#include "router.h"

const route_t routes[] = {
	{ "GET",    "/healthz",               h_healthz,       0 },
	{ "GET",    "/readyz",                h_readyz,        0 },
	{ "POST",   "/api/auth/register",     h_register,      0 },
	{ "POST",   "/api/auth/login",        h_login,         0 },
	{ "POST",   "/api/auth/logout",       h_logout,        ROUTE_AUTH },
	{ "GET",    "/api/auth/user",         h_user,          ROUTE_AUTH },
	{ "GET",    "/api/auth/tokens",       h_tokens_list,   ROUTE_AUTH },
	{ "POST",   "/api/auth/tokens",       h_tokens_create, ROUTE_AUTH },
	{ "DELETE", "/api/auth/tokens/:id",   h_tokens_delete, ROUTE_AUTH },
	{ "POST",   "/api/upload",                         h_upload,                ROUTE_AUTH },
	{ "POST",   UPLOAD_CHECK_PATH,                     h_upload_check,          ROUTE_AUTH },
	{ "GET",    "/api/files/:id",                      h_file_get,              ROUTE_AUTH },
	{ "PUT",    "/api/files/:id",                      h_file_update,           ROUTE_AUTH },
	{ "DELETE", "/api/files/:id",                      h_file_delete,           ROUTE_AUTH },
	{ "GET",    "/api/files/:id/download",             h_file_download,         ROUTE_AUTH },
	{ "GET",    "/api/files/:id/versions",             h_file_versions,         ROUTE_AUTH },
	{ "GET",    "/api/files/:id/versions/:n/download", h_file_version_download, ROUTE_AUTH },
	{ "POST",   "/api/files/:id/versions/:n/restore",  h_file_version_restore,  ROUTE_AUTH },
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
