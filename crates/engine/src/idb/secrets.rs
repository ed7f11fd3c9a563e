//! The `secrets` store: records by id, for `crate::vault` (its non-extractable key and the
//! encrypted passwords). What they mean is the vault's; this is where they live.

use postino_sync::store::StoreError;
use wasm_bindgen::JsValue;

use super::{js_error, object_store, IdbStore, SECRETS};

/// The `secrets` record of account `account_id`'s remembered password (also deleted with the
/// account, `IdbStore::delete_account`).
pub fn password_id(account_id: &str) -> String {
    format!("password/{account_id}")
}

impl IdbStore {
    /// The record `id` of the `secrets` store, `undefined` if there is none.
    pub async fn secret(&self, id: &str) -> Result<JsValue, StoreError> {
        self.read(SECRETS, |s| s.get(&JsValue::from_str(id))).await
    }

    /// Writes `record` (it has its `id`) to the `secrets` store; with `only_if_new`, fails
    /// rather than replace one with the same id.
    pub async fn put_secret(&self, record: &JsValue, only_if_new: bool) -> Result<(), StoreError> {
        self.write(&[SECRETS], |tx| {
            let store = object_store(tx, SECRETS)?;
            if only_if_new {
                store.add(record)
            } else {
                store.put(record)
            }
            .map_err(js_error)?;
            Ok(())
        })
        .await
    }

    pub async fn delete_secret(&self, id: &str) -> Result<(), StoreError> {
        self.write(&[SECRETS], |tx| {
            object_store(tx, SECRETS)?
                .delete(&JsValue::from_str(id))
                .map_err(js_error)?;
            Ok(())
        })
        .await
    }
}
