{{/*
The bundled etcd and NATS (global.etcd.install, global.nats.install): the same objects as
`dynamoctl install --with-etcd --with-nats` (src/install/bundled.rs; a test compares them).
*/}}

{{- define "dynamo-platform.bundledLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: dynamo
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "dynamo-platform.bundledSelector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}
{{- end }}

{{- /* Headless Service, client Service and StatefulSet of one bundled component. */}}
{{- define "dynamo-platform.bundled" -}}
{{- $root := .root -}}
{{- $full := printf "%s-%s" $root.Release.Name .name -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}-headless
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "dynamo-platform.bundledLabels" . | nindent 4 }}
spec:
  clusterIP: None
  # Clients find the pod by name before it is ready.
  publishNotReadyAddresses: true
  selector:
    {{- include "dynamo-platform.bundledSelector" . | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "dynamo-platform.bundledLabels" . | nindent 4 }}
spec:
  selector:
    {{- include "dynamo-platform.bundledSelector" . | nindent 4 }}
  ports:
    {{- with index .ports 0 }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "dynamo-platform.bundledLabels" . | nindent 4 }}
spec:
  serviceName: {{ $full }}-headless
  replicas: 1
  selector:
    matchLabels:
      {{- include "dynamo-platform.bundledSelector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "dynamo-platform.bundledLabels" . | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      # The Kubernetes "restricted" Pod Security Standard; fsGroup makes the data volume
      # writable for the non-root user.
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .name }}
          image: {{ .image }}
          imagePullPolicy: IfNotPresent
          command:
            {{- range .command }}
            - {{ . | quote }}
            {{- end }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          livenessProbe:
            httpGet:
              path: {{ .liveness }}
              port: {{ .probePort }}
            initialDelaySeconds: 10
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: {{ .readiness }}
              port: {{ .probePort }}
            initialDelaySeconds: 5
            periodSeconds: 10
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 1Gi
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop:
                - ALL
            readOnlyRootFilesystem: true
            runAsNonRoot: true
          volumeMounts:
            - name: data
              mountPath: /data
      {{- if not .persistence.enabled }}
      volumes:
        - name: data
          emptyDir: {}
      {{- end }}
  {{- if .persistence.enabled }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes:
          - ReadWriteOnce
        resources:
          requests:
            storage: {{ .persistence.size | quote }}
  {{- end }}
{{- end }}
