{{/*
Every user-supplied string is emitted with `quote`, so YAML 1.1 readers never turn a
value such as NO, on or 0755 into a boolean or a number.
*/}}

{{/* Labels; no chart version, so the output only changes when the values do. */}}
{{- define "neotool.labels" -}}
{{ include "neotool.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: neotool
gitops-gen.io/customer: {{ .root.Values.environment | quote }}
{{- end }}

{{/* Selector labels. Argument: dict "root" $ "component" "frontend|router|backend|postgresql". */}}
{{- define "neotool.selectorLabels" -}}
app.kubernetes.io/name: {{ .component | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
{{- end }}

{{/* Object name of an application component: <release>-<component>. */}}
{{- define "neotool.name" -}}
{{ printf "%s-%s" .root.Release.Name .component | quote }}
{{- end }}

{{/* repository:tag, or repository@sha256:... for a digest. Argument: the image values. */}}
{{- define "neotool.image" -}}
{{- $sep := ternary "@" ":" (hasPrefix "sha256:" .tag) -}}
{{- printf "%s%s%s" .repository $sep .tag | quote -}}
{{- end }}

{{/* An env entry from a Secret key. Argument: dict "name" "VAR" "ref" (dict "secretName" "key"). */}}
{{- define "neotool.secretEnvVar" -}}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.secretName | quote }}
      key: {{ .ref.key | quote }}
{{- end }}

{{/* requests/limits. Argument: the resources values. */}}
{{- define "neotool.resources" -}}
requests:
  cpu: {{ .requests.cpu | quote }}
  memory: {{ .requests.memory | quote }}
limits:
  cpu: {{ .limits.cpu | quote }}
  memory: {{ .limits.memory | quote }}
{{- end }}

{{/* The "restricted" Pod Security Standard. Argument: the uid to run as. */}}
{{- define "neotool.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "neotool.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
{{- end }}

{{/* Ingress rule source: pods of `component` in the release namespace. */}}
{{- define "neotool.fromComponent" -}}
- podSelector:
    matchLabels:
      {{- include "neotool.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* Ingress rule source: the ingress controller's namespace. Argument: the root. */}}
{{- define "neotool.fromIngressController" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .Values.ingress.controllerNamespace | quote }}
{{- end }}
