/*
 * For `cargo xtask platforms`' macOS check only: the two macros ring's C
 * reads from Apple's SDK header of this name, which Debian does not have.
 * The objects compiled with it are never linked (`cargo check` links
 * nothing); a real macOS build uses the SDK.
 */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
