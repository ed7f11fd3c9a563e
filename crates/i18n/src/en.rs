//! The keys of the catalogs, each with its English text: the reference the other languages
//! follow (same keys, same placeholders).

use crate::{p, Plural};

/// One sentence without a number.
pub type Text = &'static str;
/// Provider hints: (provider key of `postino_providers`, hint).
pub type Notes = &'static [(&'static str, &'static str)];

/// Every text of one language, listed by [`Strings::entries`] for the tests.
#[cfg(test)]
pub(crate) trait Texts {
    fn texts(&self) -> Vec<(String, &'static str)>;
}

#[cfg(test)]
impl Texts for Text {
    fn texts(&self) -> Vec<(String, &'static str)> {
        vec![(String::new(), self)]
    }
}

#[cfg(test)]
impl Texts for Plural {
    fn texts(&self) -> Vec<(String, &'static str)> {
        vec![(".one".into(), self.one), (".other".into(), self.other)]
    }
}

#[cfg(test)]
impl Texts for Notes {
    fn texts(&self) -> Vec<(String, &'static str)> {
        self.iter().map(|(k, v)| (format!("[{k}]"), *v)).collect()
    }
}

macro_rules! catalog {
    ($name:ident, $en_name:ident; $($key:ident: $ty:ty = $en:expr,)*) => {
        /// Sentences of one language: a field per sentence, so that a language lacking one does
        /// not compile.
        pub struct $name {
            $(pub $key: $ty,)*
        }

        pub const $en_name: $name = $name {
            $($key: $en,)*
        };

        impl $name {
            /// `(key, text)` for every text, plural forms and provider hints included.
            #[cfg(test)]
            pub(crate) fn entries(&self) -> Vec<(String, &'static str)> {
                let mut all = Vec::new();
                $(for (suffix, text) in Texts::texts(&self.$key) {
                    all.push((format!("{}{suffix}", stringify!($key)), text));
                })*
                all
            }
        }
    };
}

// The page's sentences ([`Strings`]) and the engine worker's ([`EngineStrings`]) are apart so
// that each bundle links only its own, in every language.
catalog! {
    Strings, EN;
    // The toolbar and the page (app.rs).
    offline: Text = "Offline",
    offline_reason: Text = "You are offline. Stored mail stays readable; Check mail works again when the network returns.",
    search_placeholder: Text = "Search stored mail (/)",
    search_label: Text = "Search stored mail",
    indexing: Plural = p("Indexing {n} message for search…", "Indexing {n} messages for search…"),
    mailbox: Text = "Mailbox",
    all_accounts: Text = "All accounts",
    imported_mailbox: Text = "Imported",
    sort_label: Text = "Sort messages",
    sort_newest: Text = "Newest first",
    sort_sender: Text = "By sender",
    sort_largest: Text = "Largest first",
    check_mail: Text = "Check mail",
    loading_engine: Text = "Loading the mail engine…",
    add_account: Text = "Add account",
    export: Text = "Export",
    export_title: Text = "Save the messages listed as an mbox file",
    settings: Text = "Settings",
    search_failed: Text = "Postino could not search the stored mail: {e}.",
    password_to_test: Text = "Type the password to test the connection.",
    connecting_to: Text = "Connecting to {host}…",
    remove_failed: Text = "Postino could not remove the account: {e}.",
    signing_in_with: Text = "Signing in with {label}…",
    signed_in_other: Text = "{label} signed in {got}, not {want}. Sign in with the account's own address, or add that address as another account.",
    keep_sign_in_failed: Text = "Postino could not keep the sign-in ({e}); it will ask again next time.",
    message_gone: Text = "That message is no longer stored.",
    read_message_failed: Text = "Postino could not read the message: {e}.",
    delete_message_failed: Text = "Postino could not delete the message: {e}.",
    importing: Text = "Importing…",
    import_failed: Text = "Postino could not import: {e}.",
    exporting: Plural = p("Exporting {n} message…", "Exporting {n} messages…"),
    exported: Plural = p("Saved {n} message as {name}.", "Saved {n} messages as {name}."),
    export_failed: Text = "Postino could not export: {e}.",
    triage_done: Text = "Downloaded {downloaded}, skipped {skipped}, deleted {deleted} on the server.",

    // Settings.
    accounts: Text = "Accounts",
    language: Text = "Language",
    import: Text = "Import",
    import_label: Text = "Import .eml or mbox files (Thunderbird, Apple Mail, Google Takeout)",
    import_hint: Text = "Imported mail goes to the “Imported” mailbox. Importing the same file again adds nothing.",
    storage: Text = "Storage",
    persistent: Text = "Persistent: the browser keeps your stored mail until you delete it.",
    not_persistent: Text = "Not persistent: the browser may clear stored mail when the disk runs low. Installing Postino as an app usually makes its storage persistent.",
    ask_persist: Text = "Ask the browser to keep my mail",
    persist_unknown: Text = "This browser does not say whether it keeps stored mail.",
    usage: Text = "{used} used of {quota} available to Postino.",
    remove_named: Text = "Remove {name}",
    remove_keep_mail: Text = "Remove, keep its mail",
    remove_with_mail: Text = "Remove with its mail",
    cancel: Text = "Cancel",
    edit: Text = "Edit",
    edit_named: Text = "Edit {name}",
    on_server: Text = "On the server…",
    on_server_named: Text = "What is on the server for {name}",
    remove: Text = "Remove",
    offline_ready: Text = "Ready: Postino opens and shows your stored mail without a network.",
    offline_not_ready: Text = "Not yet: Postino will work offline once this page has loaded it completely.",
    version: Text = "Version",
    close: Text = "Close",

    // The account form.
    edit_account: Text = "Edit account",
    add_pop3_account: Text = "Add a POP3 account",
    provider: Text = "Provider",
    provider_other: Text = "Other: type the server below",
    sign_in_with_provider: Text = "Sign in with your provider",
    sign_in_with: Text = "Sign in with {label}",
    relay_sees_tokens: Text = "{label} sign-in goes through this relay: it redeems the sign-in and renews it with its operator's client secret, so it sees the access token Postino logs in with (never a password). An app password keeps the relay out of it.",
    direct_sign_in: Text = "Your browser talks to the provider directly; the relay never sees the sign-in.",
    relay_lacks_sign_in: Text = "This relay offers no {name} sign-in: whoever runs it can add one (README, \"Sign in with Microsoft and Google\"), or use a relay that has it.",
    server: Text = "Server",
    security: Text = "Security",
    security_tls: Text = "TLS (port 995)",
    security_stls: Text = "STARTTLS (port 110)",
    security_none: Text = "None: only for a server on this computer, through a relay on this computer",
    port: Text = "Port",
    user_name: Text = "User name",
    password: Text = "Password",
    unchanged: Text = "Unchanged",
    remember_password: Text = "Remember the password on this device",
    remember_hint: Text = "Unticked, the password stays in this tab's memory only and is asked again next time. Ticked, it is stored encrypted with a key this browser keeps and will not hand out; anyone using this browser profile can still check this account's mail. With TLS or STARTTLS the relay sees only encrypted bytes.",
    login_method: Text = "Login method",
    auth_automatic: Text = "Automatic (recommended)",
    auth_apop: Text = "APOP (old; only if the server asks for it)",
    auth_hint: Text = "Automatic tries the strongest method the server offers and falls back when the server cannot check it. Choose one only if your provider says so.",
    own_client: Text = "Sign in with another provider's OAuth client",
    own_client_hint: Text = "For a POP3 server that takes OAuth 2.0 tokens: a public client (PKCE, no secret) registered with your provider, whose redirect address is this page's oauth-return.html.",
    authorize_address: Text = "Authorize address",
    token_address: Text = "Token address",
    client_id: Text = "Client ID",
    scopes: Text = "Scopes (separated by spaces)",
    sign_in_own: Text = "Sign in with this client",
    relay: Text = "Relay",
    relay_hint: Text = "The relay carries encrypted bytes between this page and the server.",
    relay_token: Text = "Relay token (only for a private relay)",
    relay_token_hint: Text = "Given by whoever runs the relay, if it asks for one.",
    mail_on_server: Text = "Mail on the server",
    delete_from_server: Text = "Delete from the server",
    delete_never: Text = "Never: leave mail on the server",
    delete_after_days: Text = "After some days",
    delete_when_deleted: Text = "When I delete it in Postino",
    delete_after_download: Text = "Right after download (only with persistent storage)",
    days: Text = "Days",
    size_limit: Text = "Headers only above (KB)",
    no_limit: Text = "No limit",
    max_per_check: Text = "At most per check",
    all: Text = "All",
    poll_minutes: Text = "Check automatically every (minutes)",
    poll_placeholder: Text = "Only when I press Check mail",
    save_and_check: Text = "Save and check mail",
    add_and_check: Text = "Add and check mail",
    test_connection: Text = "Test connection",
    test_connection_title: Text = "Log in and count the mail on the server, without saving or downloading",
    port_invalid: Text = "The port must be a number such as 995 or 110.",
    provider_or_server_first: Text = "Choose the provider, or type the server first.",
    fill_server_user_password: Text = "Fill in the server, the user name and the password.",
    no_encryption_refused: Text = "\"No encryption\" is only for a server on this computer reached through a relay on this computer: otherwise the password would cross the network readable. Choose TLS or STARTTLS.",
    signing_in_window: Text = "Signing in with {label} in its own window…",
    no_address_from_provider: Text = "{label} did not say which address signed in: type it as the user name, then sign in again.",
    own_client_incomplete: Text = "Give the client's https:// authorize and token addresses and its client ID.",
    your_provider: Text = "your provider",
    whole_number: Text = "{what} must be a whole number, or empty.",
    the_days: Text = "The number of days",
    the_size_limit: Text = "The size limit",
    the_per_check_limit: Text = "The limit per check",
    the_interval: Text = "The interval",
    days_missing: Text = "Say after how many days mail leaves the server.",

    // The message list and the reader.
    no_match: Text = "No stored message matches.",
    no_messages_yet: Text = "No messages yet. Press “Check mail” to download them.",
    empty_mailbox: Text = "No messages in this mailbox.",
    messages: Text = "Messages",
    no_subject: Text = "(no subject)",
    attachments_count: Plural = p("{n} attachment", "{n} attachments"),
    unread: Text = "Unread",
    the_receiving_server: Text = "the receiving server",
    sender_not_verified: Text = "Sender not verified by {server}: {checks}",
    sender_verified: Text = "Sender verified by {server}: {checks}",
    message: Text = "Message",
    message_source: Text = "Message source",
    remote_blocked: Plural = p("{n} remote item blocked to protect your privacy (senders use them to see when you read).", "{n} remote items blocked to protect your privacy (senders use them to see when you read)."),
    load_remote: Text = "Load remote content",
    always_for: Text = "Always for {sender}",
    message_content: Text = "Message content",
    attachments: Text = "Attachments",
    attachment_unreadable: Text = "the attachment could not be read",
    save_failed: Text = "Postino could not save {name}: {e}.",
    save_attachment: Text = "Save {name}, {type}, {size}",
    close_message: Text = "Close message",
    from: Text = "From",
    to: Text = "To",
    date: Text = "Date",
    show_message: Text = "Show message",
    view_source: Text = "View source",
    save_eml: Text = "Save .eml",
    save_eml_title: Text = "Save the message as it arrived, as an .eml file",
    delete: Text = "Delete",
    delete_title: Text = "Delete from Postino (Delete key)",

    // The status line and the questions.
    download_progress: Plural = p("{done} of {n} message", "{done} of {n} messages"),
    bytes_progress: Text = "{done} of {total}",
    stop: Text = "Stop",
    stop_title: Text = "Stop after the message in hand; what was downloaded stays",
    trust_title: Text = "Trust this server's certificate?",
    cert_unverified: Text = "{host} presented a certificate Postino cannot verify: {problem}.",
    trust_warning: Text = "Trust it only if this is your own server. The relay that carries the connection, or anyone on the network, could present such a certificate to read your password and mail: a public mail provider never needs this.",
    compare_fingerprint: Text = "Compare this SHA-256 fingerprint with the one your server shows (for example with openssl x509 -fingerprint -sha256 on the server), and trust it only if they match:",
    pin_hint: Text = "Postino will then accept exactly this certificate for this account, and warn you if it ever changes.",
    distrust: Text = "Don't trust",
    trust_and_check: Text = "Trust and check mail",
    password_for: Text = "Password for {name}",
    sign_in_to: Text = "Sign in to {name}",
    sign_in_opens: Text = "{label} opens its sign-in in a new window; Postino checks mail when it is done.",
    update_available: Text = "Update available: a new version of Postino is ready.",
    reload: Text = "Reload",

    // On the server (triage).
    state_new: Text = "new",
    state_stored: Text = "downloaded",
    state_headers_only: Text = "headers only",
    state_skipped: Text = "skipped",
    state_deleted_locally: Text = "deleted in Postino",
    choose: Text = "Choose",
    subject: Text = "Subject",
    size: Text = "Size",
    in_postino: Text = "In Postino",
    choose_named: Text = "Choose {subject}",
    on_server_title: Text = "On the server: {name}",
    asking_server: Text = "Asking the server what it holds (headers only)…",
    download: Text = "Download",
    skip: Text = "Skip",
    skip_title: Text = "Never download these; they stay on the server",
    delete_for_good: Plural = p("Delete {n} from the server for good", "Delete {n} from the server for good"),
    delete_from_server_ellipsis: Text = "Delete from server…",

    // Checks, and what the app says about them (state.rs, effects.rs).
    low_space: Text = "Storage is running out: {mb} MB left for Postino. Delete or export old mail, or free disk space, before the next download.",
    checking_mail_for: Text = "Checking mail for {name}…",
    downloading_for: Plural = p("Downloading {done} of {n} new message for {name}…", "Downloading {done} of {n} new messages for {name}…"),
    no_new_mail: Text = "No new mail for {name}.",
    new_mail: Plural = p("{n} new message for {name}.", "{n} new messages for {name}."),
    stopped: Text = "Stopped. {news} The rest comes with the next check.",
    auth_refused_used: Text = " The server offers {refused} but refused it; Postino logged in with {used}.",
    and: Text = " and ",
    no_uidl: Text = " This server has no UIDL: Postino tells its messages apart by their headers.",
    not_logged_in_because: Text = "Postino did not log in to {host} because {problem}.",
    back_online: Text = "You are back online: press Check mail to download new messages.",
    sign_in_again_to_check: Text = "{why}. Sign in with {label} again to check {name}.",
    no_sign_in_held: Text = "Postino holds no sign-in for {name}",
    keep_renewed_failed: Text = "Postino could not keep the renewed sign-in ({e}); it will ask you to sign in again next time.",
    nothing_downloaded_retry: Text = "{why}. Nothing was downloaded; try again later.",
    other_tab_checking: Text = "Another Postino tab is checking {name}; this one waits for it to finish…",
    storage_read_failed: Text = "Postino could not read its storage: {e}.",
    account_save_failed: Text = "Postino could not save the account: {e}.",
    password_keep_failed: Text = "Postino could not remember the password ({e}); it will ask for it next time.",
    storage_open_failed: Text = "Postino cannot open its storage in this browser ({e}). Private windows and some privacy settings block it; open Postino in a normal window.",
    password_read_failed: Text = "Postino could not read a remembered password ({e}); it will ask for it.",
    demo_save_failed: Text = "Postino could not save the demo account: {e}.",
    demo_mailbox: Text = "Demo mailbox",
    test_untrusted: Text = "{host} answered, but {problem}. Its certificate's SHA-256 fingerprint is {fingerprint}; add the account to review and trust it.",
    review_certificate: Text = "Postino did not log in to {host} because {problem}. Check mail once to review the certificate.",
    imported: Plural = p("Imported {n} message", "Imported {n} messages"),
    already_here: Plural = p("; {n} was already here", "; {n} were already here"),
    unreadable: Plural = p("; {n} could not be read ({why})", "; {n} could not be read ({why})"),

    // Signing in with a provider (sign_in.rs).
    popup_blocked: Text = "The browser blocked the window for signing in with {label}. Allow pop-ups for this page, then try again.",
    sign_in_start_failed: Text = "Postino could not start the sign-in: {e}.",
    sign_in_window_closed: Text = "The window for signing in with {label} was closed. Try again.",
    sign_in_timeout: Text = "The sign-in with {label} did not finish within 10 minutes. Try again.",
    no_sign_in_code: Text = "{label} sent no sign-in code back. Try again.",


    // The first check's question (first_check.rs), and Test connection.
    first_check_title: Text = "How much mail to download for {name}?",
    first_check_waiting: Plural = p("{n} message waits on the server.", "{n} messages wait on the server."),
    first_check_everything: Text = "Everything ({messages}, {size})",
    first_check_recent: Text = "The last {days} days ({messages}, {size})",
    first_check_new: Text = "From now on (only new mail)",
    first_check_hint: Text = "What you leave out stays on the server: \"On the server…\" in Settings lists it, and you can download any of it later.",
    count_messages: Plural = p("{n} message", "{n} messages"),

    // Address first (account_form.rs).
    address: Text = "E-mail address",
    find_server: Text = "Find my server",
    find_hint: Text = "Postino looks up the server for your address; you can change what it finds.",
    whole_address: Text = "Type your whole e-mail address, such as alice@example.org.",
    looking_for: Text = "Looking for {domain}'s server…",
    lookup_failed: Text = "The relay could not look up {domain} ({e}). Type the server below.",
    found_server: Text = "Found {server} ({security}): {source}. Change it below if it is wrong.",
    none_found: Text = "Postino found no server for {domain}: type it below (your provider's help pages name it).",
    usual_name_untested: Text = "{domain} publishes no POP3 server; {host} is a usual name for it. Type your password and press Find again to test it, or change it below.",
    trying: Text = "Trying {server}…",
    usual_name_answers: Text = "{server} ({security}) answers: it is a usual name for {domain}'s server, not published by {domain}. Change it below if it is wrong.",
    source_provider: Text = "Postino knows {domain}'s mail provider",
    source_srv: Text = "{domain} publishes its POP3 server in DNS (SRV records)",
    source_mx: Text = "{domain}'s mail goes to a provider Postino knows (MX records)",
    source_guess: Text = "a usual name for {domain}'s server",
    no_encryption: Text = "no encryption",

    // What to do at the provider first, by provider key (crates/providers).
    provider_notes: Notes = &[
        ("gmail", "First enable POP in Gmail's settings (Forwarding and POP/IMAP). Then sign in with Google, or create an app password in your Google account (2-Step Verification must be on) and use it here."),
        ("outlook", "Microsoft takes no password for POP: sign in with Microsoft. POP must be switched on first (Outlook.com: Settings, Mail, Forwarding and IMAP, \"Let devices and apps use POP\"; Microsoft 365: your administrator)."),
        ("yahoo", "Create an app password in your Yahoo account security settings and use it here."),
        ("gmx", "First enable POP3 access in GMX's settings (E-Mail, POP3/IMAP access)."),
        ("webde", "First enable POP3 access in WEB.DE's settings (E-Mail, POP3/IMAP access)."),
        ("fastmail", "Create an app password (Settings, Privacy & Security) and use it here."),
        ("tonline", "Set an e-mail password (not your login password) in the T-Online e-mail settings."),
        ("posteo", "Use your Posteo address as the user name and your account password."),
        ("mailboxorg", "Use your full address as the user name."),
        ("ionos", "Use your full address as the user name."),
        ("orange", "Use your full Orange address as the user name."),
        ("free", "Enable external access in your Free mail settings first."),
        ("libero", "Use your full address as the user name."),
        ("aruba", "Use your full address as the user name and your mailbox password."),
    ],
}

catalog! {
    EngineStrings, EN_ENGINE;
    // What the engine worker says: failures it explains (explain.rs), relay refusals,
    // certificate problems, Test connection (check.rs).
    storage_open_failed: Text = "Postino cannot open its storage in this browser ({e}). Private windows and some privacy settings block it; open Postino in a normal window.",
    not_logged_in_because: Text = "Postino did not log in to {host} because {problem}.",
    server_said: Text = "The server said: {text}",
    relay_close_code: Text = "relay close code {code}",
    relay_unreachable: Text = "Postino could not reach the relay at {relay}. Check the relay address in the account settings and that the relay is running. A relay reached under a name other than its own address answers only when it was started with --origin for this page.",
    relay_address_unusable: Text = "The relay address {relay} is not usable: {e}. Check it in the account settings.",
    storage_full: Text = "The browser's storage for Postino is full, so the check stopped; nothing was deleted from the server. Free some space or allow Postino more storage, then check again.",
    relay_connect_failed: Text = "Postino could not reach the relay at {relay}: {e}. Check the relay address and that the relay is running.",
    store_failed: Text = "Postino could not save mail in this browser ({e}). Nothing was deleted from the server.",
    login_wait: Text = "{host} asked to wait before logging in again. Try again later.",
    login_refused: Text = "{host} refused the user name or password. Check them and try again (some providers need an app password or POP enabled in their settings).",
    token_refused: Text = "{host} refused the sign-in: {problem}.",
    token_expired: Text = "token expired or revoked",
    token_bad_request: Text = "bad request",
    token_scope: Text = "the token does not grant access to mail",
    token_other: Text = "token refused",
    cert_now: Text = "The certificate it presented now: SHA-256 {fingerprint}",
    cert_impostor: Text = "Postino did not log in to {host} because {problem}. {host} is a well-known provider whose certificate always verifies, so someone between you and the server is presenting this one, possibly the relay itself: your password was not sent. Try again later, on another network, or with another relay.",
    connection_broke: Text = "The connection to {host} broke. Check mail again to continue; what was already downloaded is kept.",
    server_error: Text = "{host} reported an error. Try again later.",
    unsupported: Text = "{host} does not support {what}.",
    choose_other_security: Text = " Choose another security setting for this account.",
    choose_other_login: Text = " Choose another login method for this account (Automatic finds one).",
    stopped_talking: Text = "Postino stopped talking to {host}: {e}.",
    tls_failed: Text = "The secure connection to {host} failed: {e}.",
    security_mismatch: Text = "{host}:{port} does not match the account's security setting: {why}.",
    client_mistake: Text = "Postino made a mistake talking to {host}; the check stopped.",
    unreadable_server: Text = "{host} sent something Postino cannot read; the check stopped.",
    cert_unknown_issuer: Text = "the server's certificate is not signed by a known authority (self-signed, a private authority, or the server omits an intermediate certificate)",
    cert_expired: Text = "the server's certificate has expired",
    cert_not_yet_valid: Text = "the server's certificate is not valid yet",
    cert_wrong_name: Text = "the server's certificate is for another host name",
    cert_revoked: Text = "the server's certificate was revoked",
    cert_authority: Text = "the server's certificate is made for a certificate authority, not for a server (as `openssl req -x509` makes by default), so no authority vouches for it",
    cert_not_for_servers: Text = "the server's certificate is not made for servers (its key usage excludes TLS server authentication)",
    cert_malformed: Text = "the server's certificate cannot be read",
    cert_changed: Text = "the server's certificate changed since you trusted it: this may be an attack, or the server renewed its certificate",
    cert_other: Text = "the server's certificate was refused ({e})",
    close_token: Text = "The relay refused the connection: {reason}. This relay needs a token: ask whoever runs it, and enter it in the account's Relay token field.",
    close_forbidden: Text = "The relay refused to connect to {dest}: {reason}.",
    close_limit: Text = "The relay is busy: {reason}. Try again in a minute.",
    close_connect_failed: Text = "The relay could not reach the server {dest}: {reason}. Check the server name and port.",
    close_connect_timeout: Text = "The relay timed out connecting to {dest}. Check the server name and port, or try again later.",
    close_other: Text = "The relay closed the connection: {reason} (code {code}).",
    no_reason: Text = "no reason given",
    count_messages: Plural = p("{n} message", "{n} messages"),
    tested: Text = "Connected to {host} and logged in as {user}: {mail} on the server ({size}). Nothing was downloaded.",
    plaintext_refused: Text = "\"No encryption\" is allowed only when the relay runs on this computer too ({relay} does not): otherwise your password would cross the network readable. Choose TLS or STARTTLS for {host}.",
    check_settings: Text = "Check the account settings: {e}.",
}
