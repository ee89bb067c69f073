use super::change;
use crate::event::EventType;

#[test]
fn a_configured_cookie_answered_as_logged_out_is_lost_once_and_restored_once() {
    // The first answer: logged in is no news, logged out is a loss.
    assert_eq!(change(None, Some(true)), None);
    assert_eq!(change(None, Some(false)), Some(EventType::LoginLost));
    assert_eq!(change(Some(true), Some(false)), Some(EventType::LoginLost));
    assert_eq!(
        change(Some(false), Some(true)),
        Some(EventType::LoginRestored)
    );
    // No change, or no answer: nothing.
    assert_eq!(change(Some(false), Some(false)), None);
    assert_eq!(change(Some(true), Some(true)), None);
    assert_eq!(change(Some(false), None), None);
    assert_eq!(change(None, None), None);
}
