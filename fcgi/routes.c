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
	{ "GET",    "/api/files",                          h_files_list,            ROUTE_AUTH },
	{ "POST",   "/api/files/move",                     h_files_move,            ROUTE_AUTH },
	{ "POST",   "/api/files/copy",                     h_files_copy,            ROUTE_AUTH },
	{ "POST",   "/api/files/delete",                   h_files_delete_many,     ROUTE_AUTH },
	{ "GET",    "/api/files/:id",                      h_file_get,              ROUTE_AUTH },
	{ "PUT",    "/api/files/:id",                      h_file_update,           ROUTE_AUTH },
	{ "DELETE", "/api/files/:id",                      h_file_delete,           ROUTE_AUTH },
	{ "GET",    "/api/files/:id/download",             h_file_download,         ROUTE_AUTH },
	{ "GET",    "/api/files/:id/versions",             h_file_versions,         ROUTE_AUTH },
	{ "GET",    "/api/files/:id/versions/:n/download", h_file_version_download, ROUTE_AUTH },
	{ "POST",   "/api/files/:id/versions/:n/restore",  h_file_version_restore,  ROUTE_AUTH },
	{ "POST",   "/api/folders",                        h_folder_create,         ROUTE_AUTH },
	{ "GET",    "/api/folders/root",                   h_folder_get,            ROUTE_AUTH },
	{ "PUT",    "/api/folders/root",                   h_folder_update,         ROUTE_AUTH },
	{ "DELETE", "/api/folders/root",                   h_folder_delete,         ROUTE_AUTH },
	{ "GET",    "/api/folders/:id",                    h_folder_get,            ROUTE_AUTH },
	{ "PUT",    "/api/folders/:id",                    h_folder_update,         ROUTE_AUTH },
	{ "DELETE", "/api/folders/:id",                    h_folder_delete,         ROUTE_AUTH },
	{ "GET",    "/api/trash",                          h_trash_list,            ROUTE_AUTH },
	{ "DELETE", "/api/trash",                          h_trash_empty,           ROUTE_AUTH },
	{ "POST",   "/api/trash/:id/restore",              h_trash_restore,         ROUTE_AUTH },
	{ "DELETE", "/api/trash/:id",                      h_trash_purge,           ROUTE_AUTH },
	{ "GET",    "/api/jobs",                           h_jobs_list,             ROUTE_AUTH },
	{ "GET",    "/api/jobs/:id",                       h_job_get,               ROUTE_AUTH },
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
