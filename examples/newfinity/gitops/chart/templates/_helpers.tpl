{{/*
Every user-supplied string is emitted with `quote`, so YAML 1.1 readers never turn a
value such as NO, on or 0755 into a boolean or a number.
*/}}

{{/* Labels; no chart version, so the output only changes when the values do. */}}
{{- define "newfinity.labels" -}}
{{ include "newfinity.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: newfinity
gitops-gen.io/customer: {{ .root.Values.environment | quote }}
topology.newfinity.example/region: {{ .root.Values.region | quote }}
{{- end }}

{{/* Selector labels. Argument: dict "root" $ "component" "api|worker|<job>". */}}
{{- define "newfinity.selectorLabels" -}}
app.kubernetes.io/name: {{ .component | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
{{- end }}

{{/* repository:tag, or repository@sha256:... for a digest. */}}
{{- define "newfinity.image" -}}
{{- $sep := ternary "@" ":" (hasPrefix "sha256:" .Values.image.tag) -}}
{{- printf "%s%s%s" .Values.image.repository $sep .Values.image.tag | quote -}}
{{- end }}

{{/* An env entry from a Secret key. Argument: dict "name" "VAR" "ref" (dict "secretName" "key"). */}}
{{- define "newfinity.secretEnvVar" -}}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.secretName | quote }}
      key: {{ .ref.key | quote }}
{{- end }}

{{/*
The environment every container of the release gets: same code, same configuration;
the database URL and the secrets by reference.
*/}}
{{- define "newfinity.env" -}}
- name: APP_HOST
  value: {{ .Values.host | quote }}
- name: REGION
  value: {{ .Values.region | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name | quote }}
  value: {{ $value | quote }}
{{- end }}
{{ include "newfinity.secretEnvVar" (dict "name" "DATABASE_URL" "ref" .Values.database.urlSecret) }}
{{- range $name, $ref := .Values.secretEnv }}
{{ include "newfinity.secretEnvVar" (dict "name" $name "ref" $ref) }}
{{- end }}
{{- end }}

{{/* requests/limits. Argument: the resources values. */}}
{{- define "newfinity.resources" -}}
requests:
  cpu: {{ .requests.cpu | quote }}
  memory: {{ .requests.memory | quote }}
limits:
  cpu: {{ .limits.cpu | quote }}
  memory: {{ .limits.memory | quote }}
{{- end }}

{{/* The "restricted" Pod Security Standard. */}}
{{- define "newfinity.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "newfinity.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/* The command, one quoted item per line. Argument: the list. */}}
{{- define "newfinity.command" -}}
{{- range . }}
- {{ . | quote }}
{{- end }}
{{- end }}
