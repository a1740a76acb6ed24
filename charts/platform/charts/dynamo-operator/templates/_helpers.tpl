{{/*
Names and labels. Object names are fixed (not release-prefixed) and equal to what
`dynamoctl install` creates, so both paths manage the same objects.
*/}}

{{- define "dynamo-operator.tag" -}}
{{- .Values.controllerManager.manager.image.tag | default (printf "v%s" .Chart.AppVersion) -}}
{{- end }}

{{- define "dynamo-operator.version" -}}
{{- .Values.controllerManager.manager.operatorVersion | default (include "dynamo-operator.tag" .) -}}
{{- end }}

{{- define "dynamo-operator.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/name: dynamo-operator
{{- end }}

{{- define "dynamo-operator.labels" -}}
app.kubernetes.io/component: controller
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/name: dynamo-operator
app.kubernetes.io/part-of: dynamo
app.kubernetes.io/version: {{ include "dynamo-operator.version" . | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* A duration (30s, 1m, 1500ms, 1h) in milliseconds, for the renew < duration check. */}}
{{- define "dynamo-operator.ms" -}}
{{- $d := toString . -}}
{{- if hasSuffix "ms" $d -}}{{ trimSuffix "ms" $d | int64 }}
{{- else if hasSuffix "s" $d -}}{{ mul (trimSuffix "s" $d | int64) 1000 }}
{{- else if hasSuffix "m" $d -}}{{ mul (trimSuffix "m" $d | int64) 60000 }}
{{- else if hasSuffix "h" $d -}}{{ mul (trimSuffix "h" $d | int64) 3600000 }}
{{- else -}}{{ fail (printf "invalid duration %q: use e.g. 30s, 1m or 1500ms" $d) }}
{{- end -}}
{{- end }}

{{- define "dynamo-operator.validate" -}}
{{- $lease := .Values.namespaceRestriction.lease -}}
{{- if ge (include "dynamo-operator.ms" $lease.renewInterval | int64) (include "dynamo-operator.ms" $lease.duration | int64) -}}
{{- fail (printf "namespaceRestriction.lease.renewInterval (%s) must be shorter than namespaceRestriction.lease.duration (%s)" $lease.renewInterval $lease.duration) -}}
{{- end -}}
{{- end }}
