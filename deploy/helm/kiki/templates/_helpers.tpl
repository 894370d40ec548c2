{{/* Names and labels shared by every template. */}}

{{- define "kiki.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kiki.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels every KIKI pod carries: the NetworkPolicies of PostgreSQL and Redis select them. */}}
{{- define "kiki.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kiki.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kiki.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kiki.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kiki
{{- end -}}

{{/* Labels of one role (api, bidder, worker, migrate): call with (dict "root" $ "role" "api"). */}}
{{- define "kiki.roleSelectorLabels" -}}
{{ include "kiki.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "kiki.roleLabels" -}}
{{ include "kiki.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "kiki.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "kiki.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kiki.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding kiki.toml (none with Vault). */}}
{{- define "kiki.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "kiki.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Where the secrets file is mounted (the Vault Agent renders into /vault/secrets). */}}
{{- define "kiki.secretsFile" -}}
{{- if .Values.vault.enabled -}}/vault/secrets/kiki.toml{{- else -}}/etc/kiki/secrets/kiki.toml{{- end -}}
{{- end -}}

{{/* `config` flattened to KIKI__SECTION__KEY: "value" lines (lists and maps of lists as JSON). */}}
{{- define "kiki.flatten" -}}
{{- $prefix := .prefix -}}
{{- range $key, $value := .value -}}
{{- $name := printf "%s__%s" $prefix (upper $key) -}}
{{- if kindIs "map" $value -}}
{{- include "kiki.flatten" (dict "prefix" $name "value" $value) -}}
{{- else if kindIs "slice" $value -}}
{{- printf "%s: %s\n" $name (toJson $value | quote) -}}
{{- else if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) -}}
{{- /* YAML numbers reach templates as float64: print whole numbers as integers, not 1e+08. */ -}}
{{- printf "%s: %s\n" $name (int64 $value | toString | quote) -}}
{{- else if not (kindIs "invalid" $value) -}}
{{- printf "%s: %s\n" $name (toString $value | quote) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap's data: the user's settings, then what the chart fixes. */}}
{{- define "kiki.configData" -}}
{{ include "kiki.flatten" (dict "prefix" "KIKI" "value" .Values.config) -}}
KIKI__HTTP__BIND: "0.0.0.0:8080"
KIKI__DATABASE__RUN_MIGRATIONS: "false"
KIKI__HTTP__SHUTDOWN_GRACE_SECS: {{ .Values.shutdown.httpGraceSeconds | quote }}
KIKI__JOBS__SHUTDOWN_GRACE_SECS: {{ .Values.shutdown.jobsGraceSeconds | quote }}
KIKI_CONFIG: {{ include "kiki.secretsFile" . | quote }}
{{- end -}}

{{- define "kiki.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown -}}
{{- add $s.preStopSleepSeconds (max $s.httpGraceSeconds $s.jobsGraceSeconds) $s.marginSeconds -}}
{{- end -}}

{{/* Pod-level security: non-root, RuntimeDefault seccomp. */}}
{{- define "kiki.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kiki.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod annotations shared by the roles and the migration (Vault Agent, config checksums). */}}
{{- define "kiki.vaultAnnotations" -}}
{{- if .root.Values.vault.enabled }}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/role: {{ .root.Values.vault.role | quote }}
vault.hashicorp.com/agent-inject-secret-kiki.toml: {{ .root.Values.vault.secretPath | quote }}
vault.hashicorp.com/agent-inject-template-kiki.toml: {{ .root.Values.vault.template | quote }}
{{- if .job }}
vault.hashicorp.com/agent-pre-populate-only: "true"
{{- end }}
{{- with .root.Values.vault.annotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes: /tmp and, without Vault, the secrets file. */}}
{{- define "kiki.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSizeLimit }}
{{- if not .root.Values.vault.enabled }}
- name: secrets
  secret:
    secretName: {{ .secretName }}
    defaultMode: 0440
    items:
      - key: kiki.toml
        path: kiki.toml
{{- end }}
{{- end -}}

{{- define "kiki.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if not .Values.vault.enabled }}
- name: secrets
  mountPath: /etc/kiki/secrets
  readOnly: true
{{- end }}
{{- end -}}
