//! Malformed requests get Status errors, never a dropped connection (a panic
//! in a handler would drop it), and the server keeps serving afterwards.

mod common;

use common::{bounded, raw_text, sim};

#[tokio::test]
async fn weird_bodies_and_paths_never_crash_the_server() {
    bounded(async {
        let sim = sim().await;
        // Something to update/patch/delete.
        let (code, _, _) = raw_text(&sim, "POST", "/api/v1/namespaces/default/configmaps", Some("application/json"), Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#), &[]).await;
        assert_eq!(code, 201);
        let (code, _, _) = raw_text(&sim, "POST", "/api/v1/namespaces", Some("application/json"), Some(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"weird"}}"#), &[]).await;
        assert_eq!(code, 201);
        let bodies = [
            "", "null", "5", "\"s\"", "[]", "[1]", "{}", r#"{"metadata":5}"#, r#"{"metadata":"x"}"#, r#"{"metadata":{"name":5}}"#,
            r#"{"metadata":{"name":"x","labels":"nope"}}"#, r#"{"metadata":{"name":"x","finalizers":"f"}}"#, r#"{"metadata":{"name":"x","ownerReferences":[5]}}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"status":5}"#, r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":[1,2]}"#,
            r#"[{"op":"replace","path":"","value":5}]"#, r#"[{"op":"replace","path":"/metadata","value":5}]"#, r#"[{"op":"add","path":"/metadata/labels","value":[1]}]"#,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"weird"},"status":"x"}"#, "apiVersion: v1\nkind: ConfigMap\nmetadata: [1]\n",
            r#"{"kind":"DeleteOptions","propagationPolicy":5,"preconditions":"x","dryRun":"All"}"#,
        ];
        let content_types = ["application/json", "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf"];
        let targets = [
            ("POST", "/api/v1/namespaces/default/configmaps"),
            ("PUT", "/api/v1/namespaces/default/configmaps/x"),
            ("PATCH", "/api/v1/namespaces/default/configmaps/x?fieldManager=m"),
            ("PATCH", "/api/v1/namespaces/default/configmaps/x?fieldManager=m&force=true"),
            ("PUT", "/api/v1/namespaces/weird/status"),
            ("PATCH", "/api/v1/namespaces/weird/status?fieldManager=m"),
            ("PUT", "/apis/apps/v1/namespaces/default/deployments/x/scale"),
            ("DELETE", "/api/v1/namespaces/default/configmaps/nope"),
            ("DELETE", "/api/v1/namespaces/default/configmaps"),
        ];
        for (method, path) in targets {
            for ct in content_types {
                for body in bodies {
                    let (code, _, text) = raw_text(&sim, method, path, Some(ct), Some(body), &[]).await;
                    assert!((200..600).contains(&code), "{method} {path} [{ct}] {body:?}: no HTTP response ({text:?})");
                    // 500 here can only come from the panic guard: a bug.
                    assert_ne!(code, 500, "{method} {path} [{ct}] {body:?}: {text}");
                    if code >= 400 {
                        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path} [{ct}] {body:?}: non-JSON error {text:?}"));
                        assert_eq!(v["kind"], "Status", "{method} {path} [{ct}] {body:?}");
                    }
                }
            }
        }
        for path in ["/", "/api/v2", "/apis/apps", "/apis/apps/v9", "/api/v1/namespaces/default/configmaps/x/y/z", "/api/v1/nodes/n/status", "/%zz", "/api/v1/namespaces/default/configmaps?limit=abc&continue=zz&labelSelector=a%20in%20(&fieldSelector=x", "/api/v1/configmaps?watch=true&resourceVersion=abc&timeoutSeconds=1"] {
            let (code, _, _) = raw_text(&sim, "GET", path, None, None, &[]).await;
            assert!((200..600).contains(&code) && code != 500, "GET {path}: {code}");
        }
        // Still healthy.
        let (code, _, _) = raw_text(&sim, "GET", "/api/v1/namespaces/default/configmaps", None, None, &[]).await;
        assert_eq!(code, 200);
    })
    .await
}
