#![cfg(target_arch = "wasm32")]
// TEMPORARY scratch test (to be deleted): needs websockify on 17080 -> TCP echo on 17007.
use futures_util::{AsyncReadExt, AsyncWriteExt};
use postino_app::transport::{WsError, WsStream};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn echo_round_trip_with_backpressure() {
    let stream = WsStream::connect("ws://127.0.0.1:17080/", &[]).await.unwrap();
    let handle = stream.close_handle();
    let (mut r, mut w) = stream.split();
    let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i * 7 + (i >> 9)) as u8).collect();
    let writer = async {
        for chunk in data.chunks(256 * 1024) {
            w.write_all(chunk).await.unwrap();
        }
        w
    };
    let reader = async {
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await.unwrap();
        got
    };
    let (mut w, got) = futures_util::future::join(writer, reader).await;
    assert!(got == data, "echo differs");
    w.write_all(b"BYE").await.unwrap();
    let mut tail = Vec::new();
    let res = r.read_to_end(&mut tail).await;
    web_sys::console::log_1(&format!("after BYE: {res:?} tail={:?} close={:?}", tail, handle.close_info()).into());
    assert_eq!(tail, b"bye");
}

#[wasm_bindgen_test]
async fn client_close() {
    let mut stream = WsStream::connect("ws://127.0.0.1:17080/", &[]).await.unwrap();
    stream.write_all(b"hi").await.unwrap();
    let mut b = [0u8; 2];
    stream.read_exact(&mut b).await.unwrap();
    stream.close().await.unwrap();
    let info = stream.close_info().unwrap();
    web_sys::console::log_1(&format!("client close: {info:?}").into());
    assert_eq!(info.code, 1000);
    assert!(stream.write_all(b"x").await.is_err());
}

#[wasm_bindgen_test]
async fn refused() {
    match WsStream::connect("ws://127.0.0.1:1/", &[]).await {
        Err(WsError::Closed(info)) => assert_eq!(info.code, 1006),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("connected"),
    }
    match WsStream::connect("not a url", &[]).await {
        Err(WsError::Refused(m)) => web_sys::console::log_1(&m.into()),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("connected"),
    }
}
