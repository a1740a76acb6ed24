{{/*
The operator configuration (upstream's OperatorConfiguration file), byte for byte what
`dynamoctl install` writes (src/install/config.rs; a test compares them): the same keys in
the same order, strings quoted exactly when a YAML 1.1 reader could take them for another
type. Orchestrators are written only when set, so unset means "detect from the API server".
*/}}

{{- define "dynamo-operator.str" -}}
{{- $s := toString . -}}
{{- $n := replace "_" "" $s -}}
{{- if or (eq $s "")
      (regexMatch "^(?i:~|null|true|false|yes|no|y|n|on|off|nan|[-+]?\\.?inf|\\.nan)$" $s)
      (regexMatch "^[-+]?([0-9]+(\\.[0-9.]*)?|\\.[0-9.]*)([eE][-+]?[0-9]+)?$" $n)
      (regexMatch "^[-+]?0([bB][01_]+|[oO][0-7_]+|[xX][0-9a-fA-F_]+)$" $s)
      (regexMatch "^[-+]?([1-9][0-9_]*(:[0-5]?[0-9])+|[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*)$" $s)
      (regexMatch "^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$" $s) -}}
{{- $s | quote -}}
{{- else -}}
{{- $s -}}
{{- end -}}
{{- end }}

{{/* A duration as dynamoctl writes it: whole seconds as 30s, otherwise 1500ms. */}}
{{- define "dynamo-operator.duration" -}}
{{- $ms := include "dynamo-operator.ms" . | int64 -}}
{{- if eq (mod $ms 1000) 0 -}}{{ div $ms 1000 }}s{{- else -}}{{ $ms }}ms{{- end -}}
{{- end }}

{{- define "dynamo-operator.config" -}}
{{- $g := .Values.global | default dict -}}
{{- $d := .Values.dynamo -}}
{{- $nr := .Values.namespaceRestriction -}}
{{- $ns := .Release.Namespace -}}
{{- $grove := index $g "grove" | default dict -}}
{{- $kai := index $g "kai-scheduler" | default dict -}}
{{- $volcano := index $g "volcano-scheduler" | default dict -}}
{{- $etcd := .Values.etcdAddr -}}
{{- if and (not $etcd) ((index $g "etcd" | default dict).install) -}}
{{- $etcd = printf "http://%s-etcd.%s.svc.cluster.local:2379" .Release.Name $ns -}}
{{- end -}}
{{- $nats := .Values.natsAddr -}}
{{- if and (not $nats) ((index $g "nats" | default dict).install) -}}
{{- $nats = printf "nats://%s-nats.%s.svc.cluster.local:4222" .Release.Name $ns -}}
{{- end -}}
{{- $gateway := "" -}}
{{- if $d.istio.enabled }}{{ $gateway = $d.istio.gateway }}{{ end -}}
{{- $class := "" -}}
{{- $tls := "" -}}
{{- if $d.ingress.enabled }}{{ $class = $d.ingress.className }}{{ $tls = $d.ingress.tlsSecretName }}{{ end -}}
apiVersion: operator.config.dynamo.nvidia.com/v1alpha1
kind: OperatorConfiguration
server:
  metrics:
    bindAddress: "0.0.0.0"
    port: 8080
  healthProbe:
    bindAddress: "0.0.0.0"
    port: 8081
{{- if not $nr.enabled }}
  webhook:
    bindAddress: "0.0.0.0"
    port: 9443
    secretName: dynamo-operator-webhook-cert
    serviceName: dynamo-operator-webhook
{{- end }}
leaderElection:
  enabled: true
  namespace: {{ include "dynamo-operator.str" $ns }}
{{- if $nr.enabled }}
namespace:
  restricted: {{ include "dynamo-operator.str" $ns }}
  scope:
    leaseDuration: {{ include "dynamo-operator.duration" $nr.lease.duration }}
    leaseRenewInterval: {{ include "dynamo-operator.duration" $nr.lease.renewInterval }}
{{- end }}
{{- $groveSet := or (not (kindIs "invalid" $grove.enabled)) $d.groveTerminationDelay -}}
{{- $kaiSet := not (kindIs "invalid" $kai.enabled) -}}
{{- $volcanoSet := not (kindIs "invalid" $volcano.enabled) -}}
{{- if or $groveSet $kaiSet $volcanoSet }}
orchestrators:
{{- if $groveSet }}
  grove:
{{- if not (kindIs "invalid" $grove.enabled) }}
    enabled: {{ $grove.enabled }}
{{- end }}
{{- if $d.groveTerminationDelay }}
    terminationDelay: {{ include "dynamo-operator.str" $d.groveTerminationDelay }}
{{- end }}
{{- end }}
{{- if $kaiSet }}
  kaiScheduler:
    enabled: {{ $kai.enabled }}
{{- end }}
{{- if $volcanoSet }}
  volcanoScheduler:
    enabled: {{ $volcano.enabled }}
{{- end }}
{{- end }}
{{- if or $nats $etcd .Values.modelExpressURL $d.metrics.prometheusEndpoint }}
infrastructure:
{{- with $nats }}
  natsAddress: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with $etcd }}
  etcdAddress: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with .Values.modelExpressURL }}
  modelExpressURL: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with $d.metrics.prometheusEndpoint }}
  prometheusEndpoint: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- end }}
{{- if or $gateway $class $tls $d.ingressHostSuffix }}
ingress:
{{- with $gateway }}
  virtualServiceGateway: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with $class }}
  controllerClassName: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with $tls }}
  controllerTLSSecretName: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- with $d.ingressHostSuffix }}
  hostSuffix: {{ include "dynamo-operator.str" . }}
{{- end }}
{{- end }}
{{- with $d.mpiRun.secretName }}
mpi:
  sshSecretName: {{ include "dynamo-operator.str" . }}
  sshSecretNamespace: {{ include "dynamo-operator.str" $ns }}
{{- end }}
{{- with .Values.discoveryBackend }}
discovery:
  backend: {{ include "dynamo-operator.str" . }}
{{- end }}
logging:
  format: json
{{ end }}
