//! Resolving the admin token.

use causeway_admin::{TOKEN_FILE, data_dir, resolve_token};

use super::config;

#[test]
fn configured_token_wins() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[]);
    assert_eq!(resolve_token(&set).expect("token"), "secret");
    assert!(!data_dir(&set).join(TOKEN_FILE).exists());
}

#[test]
fn generated_token_is_written_for_the_owner_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut set = config(tmp.path(), &[]);
    set.node.admin.token = None;
    set.node.admin.token_env = "CAUSEWAY_TEST_SURELY_UNSET_TOKEN_VARIABLE".into();
    let token = resolve_token(&set).expect("token");
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let path = data_dir(&set).join(TOKEN_FILE);
    let written = std::fs::read_to_string(&path).expect("token file");
    assert_eq!(written.trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = resolve_token(&set).expect("token");
    assert_ne!(again, token, "a fresh token at each start");
}
