//! TensorRT-LLM across nodes: MPI over SSH. Workers run `sshd` on port 2222 with the key pair
//! from the MPI SSH secret; the leader runs the engine under `mpirun`, one rank per GPU of
//! every node, exporting the pod's environment to the remote ranks.

use serde_json::{Value, json};

use super::{Launch, shell};
use crate::render::merge::env_by_name;
use crate::render::orchestrator::NodeRole;

/// Port `sshd` listens on in worker pods.
pub const SSH_PORT: u16 = 2222;
/// Where the MPI SSH secret is mounted.
const KEY_DIR: &str = "/ssh-pk";

/// Variables every `mpirun` exports besides the container's own (upstream's list).
const EXPORTED: &[&str] = &[
    "CUDA_VISIBLE_DEVICES",
    "HF_DATASETS_CACHE",
    "HF_ENDPOINT",
    "HF_HOME",
    "HF_TOKEN",
    "HOME",
    "HUGGING_FACE_HUB_TOKEN",
    "LD_LIBRARY_PATH",
    "MODEL_PATH",
    "NCCL_DEBUG",
    "NCCL_IB_DISABLE",
    "NCCL_P2P_DISABLE",
    "PATH",
    "PYTHONPATH",
    "TENSORRT_LLM_CACHE_DIR",
    "TOKENIZERS_PARALLELISM",
    "TRANSFORMERS_CACHE",
    "TRTLLM_USE_UCX_KVCACHE",
    "USER",
];

/// Mounts the key pair, then makes the worker an SSH server or the leader the `mpirun`
/// launcher. Returns the secret volume.
pub fn launch(main: &mut Value, launch: &Launch<'_>) -> Result<Vec<Value>, String> {
    let secret = launch.mpi_secret;
    let mut mounts = main
        .get("volumeMounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    mounts.push(json!({ "name": secret, "mountPath": KEY_DIR, "readOnly": true }));
    main["volumeMounts"] = Value::Array(mounts);
    let env = main
        .get("env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    main["env"] = Value::Array(env_by_name(
        &env,
        &[json!({ "name": "OMPI_MCA_orte_keep_fqdn_hostnames", "value": "1" })],
    ));
    match launch.node.role {
        NodeRole::Worker => worker(main),
        NodeRole::Leader => leader(main, launch)?,
    }
    // 0644: readable by the (possibly non-root) user that copies the keys.
    Ok(vec![
        json!({ "name": secret, "secret": { "secretName": secret, "defaultMode": 0o644 } }),
    ])
}

/// Copies the key pair into `$HOME/.ssh` (`$HOME`, not `~`: the image may set HOME to
/// another user's directory than /etc/passwd says).
fn key_setup(extra_dirs: &str) -> Vec<String> {
    vec![
        format!("mkdir -p $HOME/.ssh{extra_dirs}"),
        format!("cp {KEY_DIR}/private.key $HOME/.ssh/id_rsa"),
        format!("cp {KEY_DIR}/private.key.pub $HOME/.ssh/id_rsa.pub"),
        format!("cp {KEY_DIR}/private.key.pub $HOME/.ssh/authorized_keys"),
        "chmod 600 $HOME/.ssh/id_rsa $HOME/.ssh/authorized_keys".to_string(),
        "chmod 644 $HOME/.ssh/id_rsa.pub".to_string(),
        format!(
            "printf 'Host *\\nIdentityFile '$HOME'/.ssh/id_rsa\\nStrictHostKeyChecking no\\nPort {SSH_PORT}\\n' > $HOME/.ssh/config"
        ),
    ]
}

fn worker(main: &mut Value) {
    shell::remove_probes(main, &["livenessProbe", "startupProbe"]);
    main["readinessProbe"] = json!({
        "tcpSocket": { "port": SSH_PORT },
        "initialDelaySeconds": 20,
        "periodSeconds": 20,
        "timeoutSeconds": 5,
        "failureThreshold": 10,
    });
    let mut steps = key_setup(" $HOME/.ssh/host_keys $HOME/.ssh/run");
    for kind in ["rsa", "ecdsa", "ed25519"] {
        steps.push(format!(
            "ssh-keygen -t {kind} -f $HOME/.ssh/host_keys/ssh_host_{kind}_key -N ''"
        ));
    }
    steps.push(format!(
        "printf 'Port {SSH_PORT}\\nHostKey '$HOME'/.ssh/host_keys/ssh_host_rsa_key\\nHostKey '$HOME'/.ssh/host_keys/ssh_host_ecdsa_key\\nHostKey '$HOME'/.ssh/host_keys/ssh_host_ed25519_key\\nPidFile '$HOME'/.ssh/run/sshd.pid\\nPermitRootLogin yes\\nPasswordAuthentication no\\nPubkeyAuthentication yes\\nAuthorizedKeysFile '$HOME'/.ssh/authorized_keys\\n' > $HOME/.ssh/sshd_config"
    ));
    steps.push("exec /usr/sbin/sshd -D -f $HOME/.ssh/sshd_config".to_string());
    shell::set_script(main, steps.join(" && "));
}

fn leader(main: &mut Value, launch: &Launch<'_>) -> Result<(), String> {
    let node = &launch.node;
    let (original, _) = shell::command_line(main, &[], "trtllm")?;
    let hosts = node.topology.hosts_in_shell(node.service, node.count);
    let mut names: Vec<String> = EXPORTED.iter().map(|s| s.to_string()).collect();
    names.extend(
        main.get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string)),
    );
    names.sort();
    names.dedup();
    let exports: Vec<String> = names.iter().map(|n| format!("-x {n}")).collect();
    let mpirun = format!(
        "mpirun --allow-run-as-root --oversubscribe -n {} -H {} --mca pml ob1 --mca plm_rsh_args \"-p {SSH_PORT} -o StrictHostKeyChecking=no -i $HOME/.ssh/id_rsa\" {} bash -c {}",
        i64::from(node.count) * launch.gpus_per_node,
        hosts.join(","),
        exports.join(" "),
        shell::quote(&format!("trtllm-llmapi-launch {original}")),
    );
    let mut steps = key_setup("");
    if node.topology.needs_dns_wait() {
        steps.push(format!(
            "for worker in {}; do start=$(date +%s); until getent hosts $worker >/dev/null 2>&1; do if [ $(( $(date +%s) - start )) -gt 300 ]; then echo \"timed out waiting for DNS of $worker\" >&2; exit 1; fi; sleep 2; done; done",
            hosts[1..].join(" ")
        ));
    }
    steps.push(mpirun);
    shell::set_script(main, steps.join(" && "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::orchestrator::{Node, Topology};

    fn launch_for(role: NodeRole, topology: Topology) -> Launch<'static> {
        Launch {
            node: Node {
                role,
                count: 2,
                topology,
                service: "decode",
            },
            gpu_limit: 4,
            gpus_per_node: 4,
            mpi_secret: "mpi-ssh",
            vllm_mp: false,
        }
    }

    fn main() -> Value {
        json!({
            "command": ["python3", "-m", "dynamo.trtllm"],
            "args": ["--extra-engine-args", "/w/decode.yaml"],
            "env": [{"name": "HF_HOME", "value": "/models"}, {"name": "ZED", "value": "1"}],
            "livenessProbe": {}, "startupProbe": {}, "readinessProbe": {},
        })
    }

    #[test]
    fn the_leader_runs_mpirun_over_every_gpu_of_every_node() {
        let mut m = main();
        let volumes = launch(&mut m, &launch_for(NodeRole::Leader, Topology::Grove)).unwrap();
        assert_eq!(volumes[0]["secret"]["secretName"], "mpi-ssh");
        assert_eq!(volumes[0]["secret"]["defaultMode"], 420);
        let script = m["args"][0].as_str().unwrap();
        assert!(script.contains("mpirun --allow-run-as-root --oversubscribe -n 8 -H $(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-ldr-0.$(GROVE_HEADLESS_SERVICE),$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-wkr-0.$(GROVE_HEADLESS_SERVICE) "), "{script}");
        assert!(script.ends_with("bash -c 'trtllm-llmapi-launch python3 -m dynamo.trtllm --extra-engine-args /w/decode.yaml'"), "{script}");
        assert!(script.contains("-x OMPI_MCA_orte_keep_fqdn_hostnames"));
        assert!(script.contains("-x USER -x ZED bash"));
        assert!(!script.contains("getent"), "Grove needs no DNS wait");
        assert!(
            m.get("livenessProbe").is_some(),
            "the leader keeps its probes"
        );
    }

    #[test]
    fn the_lws_leader_waits_for_worker_dns() {
        let mut m = main();
        launch(&mut m, &launch_for(NodeRole::Leader, Topology::Lws)).unwrap();
        let script = m["args"][0].as_str().unwrap();
        assert!(
            script
                .contains("for worker in $(echo \"$LWS_LEADER_ADDRESS\" | sed 's/\\./-1\\./'); do"),
            "{script}"
        );
    }

    #[test]
    fn workers_serve_ssh_and_are_probed_on_its_port() {
        let mut m = main();
        launch(&mut m, &launch_for(NodeRole::Worker, Topology::Lws)).unwrap();
        assert!(m.get("livenessProbe").is_none() && m.get("startupProbe").is_none());
        assert_eq!(m["readinessProbe"]["tcpSocket"]["port"], 2222);
        assert!(
            m["args"][0]
                .as_str()
                .unwrap()
                .ends_with("exec /usr/sbin/sshd -D -f $HOME/.ssh/sshd_config")
        );
        assert_eq!(m["volumeMounts"][0]["mountPath"], "/ssh-pk");
    }

    #[test]
    fn the_original_command_is_one_quoted_bash_c_word() {
        let mut m = json!({"command": ["python3", "-m", "dynamo.trtllm"], "args": ["--override", "{\"a\": 'b'}"]});
        launch(&mut m, &launch_for(NodeRole::Leader, Topology::Grove)).unwrap();
        let script = m["args"][0].as_str().unwrap();
        let inner =
            "trtllm-llmapi-launch python3 -m dynamo.trtllm --override '{\"a\": '\\''b'\\''}'";
        assert!(
            script.ends_with(&format!("bash -c {}", shell::quote(inner))),
            "{script}"
        );
    }
}
