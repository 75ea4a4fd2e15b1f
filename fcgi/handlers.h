/* handlers: every route handler, one file per resource. */
#ifndef COFFER_HANDLERS_H
#define COFFER_HANDLERS_H

#include "request.h"

/* health.c */
void h_healthz(req_t *r);
void h_readyz(req_t *r);

/* auth.c */
void h_register(req_t *r);
void h_login(req_t *r);
void h_logout(req_t *r);
void h_user(req_t *r);
void h_tokens_list(req_t *r);
void h_tokens_create(req_t *r);
void h_tokens_delete(req_t *r);

/* upload.c */
void h_upload(req_t *r);
void h_upload_check(req_t *r);

/* files.c */
void h_file_get(req_t *r);
void h_file_update(req_t *r);
void h_file_delete(req_t *r);
void h_file_download(req_t *r);
void h_file_versions(req_t *r);
void h_file_version_download(req_t *r);
void h_file_version_restore(req_t *r);
void h_file_version_delete(req_t *r);

/* folders.c */
void h_files_list(req_t *r);
void h_folder_create(req_t *r);
void h_folder_get(req_t *r);
void h_folder_update(req_t *r);
void h_folder_delete(req_t *r);

/* tree.c */
void h_files_move(req_t *r);
void h_files_copy(req_t *r);
void h_files_delete_many(req_t *r);
void h_trash_list(req_t *r);
void h_trash_empty(req_t *r);
void h_trash_restore(req_t *r);
void h_trash_purge(req_t *r);
void h_jobs_list(req_t *r);
void h_job_get(req_t *r);

/* shares.c */
void h_file_share(req_t *r);
void h_folder_share(req_t *r);
void h_shares_list(req_t *r);
void h_share_update(req_t *r);
void h_share_delete(req_t *r);
void h_share_open(req_t *r);
void h_share_download(req_t *r);
void h_share_file_download(req_t *r);

/* search.c */
void h_search(req_t *r);

/* quota.c */
void h_quota(req_t *r);

/* notifications.c */
void h_notifications_list(req_t *r);
void h_notifications_read(req_t *r);

/* activity_api.c */
void h_activity(req_t *r);

/* admin_api.c */
void h_admin_users(req_t *r);
void h_admin_user_get(req_t *r);
void h_admin_user_update(req_t *r);
void h_admin_storage(req_t *r);

/* grants.c */
void h_file_grant(req_t *r);
void h_folder_grant(req_t *r);
void h_file_grants(req_t *r);
void h_folder_grants(req_t *r);
void h_grants_list(req_t *r);
void h_grant_update(req_t *r);
void h_grant_delete(req_t *r);
void h_shared_with_me(req_t *r);

/* Resolve the principal from the Authorization header or the session
 * cookie. Returns 1 authenticated, 0 not (no response sent), -1 when a
 * response (503) was sent. */
int auth_resolve(req_t *r);
/* The user object of api.md for u. */
json_object *user_json(const account_user_t *u);

#endif
