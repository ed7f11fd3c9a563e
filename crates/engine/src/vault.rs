//! Remembered passwords, for the accounts whose user asked for it: AES-256-GCM under a key that
//! WebCrypto made non-extractable, so page code can use it but never read it out, and a copy of
//! the database alone does not reveal the passwords to a script. The key and the encrypted
//! passwords live in the `secrets` store (`crate::idb`). Each password is bound to its account
//! and to everything that decides where it is sent ([`binding`]: id, relay, host, port, security,
//! user, as the additional authenticated data): records cannot be swapped, and a password
//! remembered for one server never opens for another; an account edited to point elsewhere
//! forgets it.
//!
//! What this does not do: protect against someone who can run code in this browser profile, who
//! can ask the browser to decrypt. The form says so.

use js_sys::{Array, Object, Reflect, Uint8Array};
use postino_pop3::Secret;
use postino_sync::Account;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, AesKeyGenParams, CryptoKey};

use crate::idb::{password_id as record_id, IdbStore};
use crate::webcrypto::{crypto, subtle};

const KEY_ID: &str = "key";
const IV_BYTES: usize = 12;

fn js(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "WebCrypto failed".into())
}

/// The key, made on first use. Two tabs making one at once: the first stored wins (`add`), the
/// other reads it back.
async fn key(store: &IdbStore) -> Result<CryptoKey, String> {
    if let Some(key) = stored_key(store).await? {
        return Ok(key);
    }
    let algorithm = AesKeyGenParams::new("AES-GCM", 256);
    let usages: Array = ["encrypt", "decrypt"]
        .iter()
        .map(|u| JsValue::from_str(u))
        .collect();
    let key: CryptoKey = JsFuture::from(
        subtle()?
            .generate_key_with_object(&algorithm, false, &usages)
            .map_err(js)?,
    )
    .await
    .map_err(js)?
    .unchecked_into();
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &KEY_ID.into()).map_err(js)?;
    Reflect::set(&record, &"key".into(), &key).map_err(js)?;
    if store.put_secret(&record, true).await.is_ok() {
        return Ok(key);
    }
    stored_key(store)
        .await?
        .ok_or_else(|| "the key could not be stored".to_string())
}

async fn stored_key(store: &IdbStore) -> Result<Option<CryptoKey>, String> {
    let record = store.secret(KEY_ID).await.map_err(|e| e.to_string())?;
    if record.is_undefined() {
        return Ok(None);
    }
    Reflect::get(&record, &"key".into())
        .map_err(js)?
        .dyn_into::<CryptoKey>()
        .map(Some)
        .map_err(|_| "the stored key is damaged".to_string())
}

/// What a remembered password is bound to: the account and everything that decides where the
/// password goes. A change of any of these is a change of who receives the password.
///
/// For an account that signs in with a provider, the tokens are bound to its client too (the
/// provider, its endpoints, the client id): a token is never sent to another provider's server.
pub fn binding(account: &Account) -> String {
    let mut binding = serde_json::json!([
        "postino-password-v2",
        account.id,
        account.relay.trim(),
        account.host.trim().to_ascii_lowercase(),
        account.port,
        account.security,
        account.user,
    ]);
    if let (Some(client), Some(items)) = (&account.oauth, binding.as_array_mut()) {
        items.push(serde_json::json!([
            "oauth",
            client.provider,
            client.authorize_url,
            client.token_url,
            client.client_id,
        ]));
    }
    binding.to_string()
}

fn params(iv: &Uint8Array, account: &Account) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", iv);
    params.set_additional_data(&Uint8Array::from(binding(account).as_bytes()));
    params
}

/// Stores `password` for `account`, encrypted and bound to it.
pub async fn remember(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
) -> Result<(), String> {
    let account_id = account.id.as_str();
    let key = key(store).await?;
    let mut iv = [0u8; IV_BYTES];
    crypto()?
        .get_random_values_with_u8_array(&mut iv)
        .map_err(js)?;
    let iv = Uint8Array::from(&iv[..]);
    let sealed = JsFuture::from(
        subtle()?
            .encrypt_with_object_and_u8_array(
                &params(&iv, account),
                &key,
                password.expose().as_bytes(),
            )
            .map_err(js)?,
    )
    .await
    .map_err(js)?;
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &record_id(account_id).into()).map_err(js)?;
    Reflect::set(&record, &"iv".into(), &iv).map_err(js)?;
    Reflect::set(&record, &"sealed".into(), &Uint8Array::new(&sealed)).map_err(js)?;
    store
        .put_secret(&record, false)
        .await
        .map_err(|e| e.to_string())
}

/// The remembered password of `account`, if there is one that decrypts. One that was remembered
/// for the account as it was before an edit of its server, relay or user does not decrypt: it is
/// forgotten, and the user is asked again.
pub async fn recall(store: &IdbStore, account: &Account) -> Result<Option<Secret<String>>, String> {
    let account_id = account.id.as_str();
    let record = store
        .secret(&record_id(account_id))
        .await
        .map_err(|e| e.to_string())?;
    if record.is_undefined() {
        return Ok(None);
    }
    let Some(key) = stored_key(store).await? else {
        return Ok(None);
    };
    let field = |name: &str| -> Result<Uint8Array, String> {
        Reflect::get(&record, &name.into())
            .map_err(js)?
            .dyn_into::<Uint8Array>()
            .map_err(|_| "the remembered password is damaged".to_string())
    };
    let (iv, sealed) = (field("iv")?, field("sealed")?);
    let opened = match JsFuture::from(
        subtle()?
            .decrypt_with_object_and_u8_array(&params(&iv, account), &key, &sealed.to_vec())
            .map_err(js)?,
    )
    .await
    {
        Ok(opened) => opened,
        Err(_) => {
            // Remembered for another server, relay or user (or damaged): never sent anywhere.
            forget(store, account_id).await?;
            return Ok(None);
        }
    };
    String::from_utf8(Uint8Array::new(&opened).to_vec())
        .map(|p| Some(Secret::new(p)))
        .map_err(|_| "the remembered password is damaged".to_string())
}

/// Forgets the remembered password of `account_id`, if any.
pub async fn forget(store: &IdbStore, account_id: &str) -> Result<(), String> {
    store
        .delete_secret(&record_id(account_id))
        .await
        .map_err(|e| e.to_string())
}
