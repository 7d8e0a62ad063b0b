{{/*
Every user-supplied string is emitted with `quote`, so YAML 1.1 readers never turn a
value such as NO, on or 0755 into a boolean or a number.
*/}}

{{/* Labels; no chart version, so the output only changes when the values do. */}}
{{- define "nickapp.labels" -}}
{{ include "nickapp.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: nickapp
gitops-gen.io/customer: {{ .root.Values.environment | quote }}
{{- end }}

{{/* Selector labels. Argument: dict "root" $ "component" "frontend|backend|mongodb|redis". */}}
{{- define "nickapp.selectorLabels" -}}
app.kubernetes.io/name: {{ .component | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
{{- end }}

{{/* Object name of a component: <release>-<component>. Argument: as for the labels. */}}
{{- define "nickapp.name" -}}
{{ printf "%s-%s" .root.Release.Name .component | quote }}
{{- end }}

{{/* repository:tag, or repository@sha256:... for a digest. Argument: the image values. */}}
{{- define "nickapp.image" -}}
{{- $sep := ternary "@" ":" (hasPrefix "sha256:" .tag) -}}
{{- printf "%s%s%s" .repository $sep .tag | quote -}}
{{- end }}

{{/* An env entry from a Secret key. Argument: dict "name" "VAR" "ref" (dict "secretName" "key"). */}}
{{- define "nickapp.secretEnvVar" -}}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.secretName | quote }}
      key: {{ .ref.key | quote }}
{{- end }}

{{/* requests/limits. Argument: the resources values. */}}
{{- define "nickapp.resources" -}}
requests:
  cpu: {{ .requests.cpu | quote }}
  memory: {{ .requests.memory | quote }}
limits:
  cpu: {{ .limits.cpu | quote }}
  memory: {{ .limits.memory | quote }}
{{- end }}

{{/* The "restricted" Pod Security Standard, pod level. Argument: the uid to run as. */}}
{{- define "nickapp.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "nickapp.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
{{- end }}

{{/* An HTTP liveness and readiness probe on the named port "http". Argument: the path. */}}
{{- define "nickapp.httpProbes" -}}
livenessProbe:
  httpGet:
    path: {{ . | quote }}
    port: http
  initialDelaySeconds: 15
  periodSeconds: 30
readinessProbe:
  httpGet:
    path: {{ . | quote }}
    port: http
  periodSeconds: 10
{{- end }}
