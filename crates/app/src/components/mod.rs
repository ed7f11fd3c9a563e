//! One component per file (Yew's function_router layout).

pub mod account_form;
pub mod first_check;
pub mod message_list;
pub mod notice;
pub mod reader;
pub mod settings;
pub mod triage;
pub mod update_banner;
