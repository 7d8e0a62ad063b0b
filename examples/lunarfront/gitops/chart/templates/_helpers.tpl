{{/*
Every user-supplied string is emitted with `quote`: values such as NO, on,
1e3 or 0755 would otherwise be read back as booleans or numbers by YAML 1.1
parsers (PyYAML, older Kubernetes tooling) and break schema validation.
*/}}

{{/*
The release is the customer. Refuse a mismatch so object names (from the
release) and the customer label (from values) can never disagree.
*/}}
{{- define "lunarfront.checkValues" -}}
{{- if ne .Release.Name .Values.customer -}}
{{- fail (printf "release name %q must equal values.customer %q" .Release.Name .Values.customer) -}}
{{- end -}}
{{- $reserved := list "APP_HOST" "DATABASE_URL" "REDIS_URL" -}}
{{- range $name, $_ := .Values.env -}}
{{- if has $name $reserved -}}
{{- fail (printf "env.%s is set by the chart; remove it from env" $name) -}}
{{- end -}}
{{- if hasKey ($.Values.secretEnv | default dict) $name -}}
{{- fail (printf "%s is in both env and secretEnv" $name) -}}
{{- end -}}
{{- end -}}
{{- $generated := .Values.generatedSecrets | default (dict "secretName" "" "env" dict) -}}
{{- range $name, $ref := .Values.secretEnv -}}
{{- if has $name $reserved -}}
{{- fail (printf "secretEnv.%s is set by the chart; use database.urlSecret / redis.urlSecret" $name) -}}
{{- end -}}
{{- if hasKey $generated.env $name -}}
{{- fail (printf "%s is in both secretEnv and generatedSecrets.env" $name) -}}
{{- end -}}
{{- if and $generated.env (eq $ref.secretName $generated.secretName) -}}
{{- fail (printf "secretEnv.%s reads Secret %s, which the chart generates (generatedSecrets): list the key under generatedSecrets.env instead" $name $ref.secretName) -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := $generated.env -}}
{{- if or (has $name $reserved) (hasKey ($.Values.env | default dict) $name) -}}
{{- fail (printf "generatedSecrets.env.%s is also set by the chart or in env" $name) -}}
{{- end -}}
{{- end -}}
{{- with .Values.database.provision -}}
{{- if eq $.Values.database.urlSecret.key "password" -}}
{{- fail "database.urlSecret.key: \"password\" is the key of the role's password in the generated Secret; name the URL key otherwise (url)" -}}
{{- end -}}
{{- if eq $.Values.database.urlSecret.secretName $generated.secretName -}}
{{- fail "database.urlSecret.secretName: is generatedSecrets.secretName; the database Secret needs its own" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Sync order. Everything is in Argo CD's Sync phase, ordered by sync waves: Argo CD
applies a wave only once every resource of the waves before it is healthy (an
ExternalSecret when its Secret is written, a hook Job when it has completed).

  -5  Namespace (the customer's overlay)
  -4  Password generators
  -3  ExternalSecrets: generated app secrets and the database URL (kept); the admin
      URL for the database Job (a hook, deleted when the sync ends, failed or not)
  -2  ConfigMap and Job NAME-db-init: creates the database and role if missing (the Job
      is a hook, run every sync)
  -1  Job NAME-migrate: runs the migrations (hook, every sync)
   0  Deployment, Service, Ingress

Not PreSync hooks: Argo CD runs the PreSync phase before it applies anything of the Sync
phase, so on a customer's first sync the Secrets those Jobs read would not exist yet.
*/}}
{{- define "lunarfront.wave" -}}
{{- get (dict "generators" "-4" "secrets" "-3" "database" "-2" "migration" "-1") . | quote -}}
{{- end }}

{{/*
Annotations of a Sync-phase hook. Argument: dict "wave" "<step>" "deletePolicy" "...".
*/}}
{{- define "lunarfront.syncHook" -}}
argocd.argoproj.io/hook: Sync
argocd.argoproj.io/hook-delete-policy: {{ .deletePolicy }}
argocd.argoproj.io/sync-wave: {{ include "lunarfront.wave" .wave }}
{{- end }}

{{/*
Standard labels. No helm.sh/chart or version label: output must stay
byte-identical for the same values so Argo CD diffs show only real changes.
Argument: dict "root" $ "component" "web|migration".
*/}}
{{- define "lunarfront.labels" -}}
{{ include "lunarfront.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: lunarfront
gitops-gen.io/customer: {{ .root.Values.customer | quote }}
{{- end }}

{{/*
Selector labels include the component so the Service never routes traffic
to a running migration pod (it has the same name/instance).
*/}}
{{- define "lunarfront.selectorLabels" -}}
app.kubernetes.io/name: lunarfront
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Image reference: a "sha256:..." tag pins by digest (repository@sha256:...).
*/}}
{{- define "lunarfront.image" -}}
{{- $sep := ternary "@" ":" (hasPrefix "sha256:" .Values.image.tag) -}}
{{- printf "%s%s%s" .Values.image.repository $sep .Values.image.tag | quote -}}
{{- end }}

{{/*
One env entry read from a Secret key. Argument: dict "name" "VAR" "ref" (dict "secretName" .. "key" ..).
*/}}
{{- define "lunarfront.secretEnvVar" -}}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.secretName | quote }}
      key: {{ .ref.key | quote }}
{{- end }}

{{/*
Env shared by the app and the migration Job. Plain env entries rather than a
ConfigMap: a changed value changes the pod template and so rolls the pods,
without a checksum annotation. Helm ranges over maps in sorted key order.
*/}}
{{- define "lunarfront.commonEnv" -}}
- name: APP_HOST
  value: {{ .Values.host | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name | quote }}
  value: {{ $value | quote }}
{{- end }}
{{ include "lunarfront.secretEnvVar" (dict "name" "DATABASE_URL" "ref" .Values.database.urlSecret) }}
{{- end }}

{{/*
Pod and container security settings shared by the app and the migration Job
(restricted Pod Security Standard).
*/}}
{{- define "lunarfront.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "lunarfront.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "lunarfront.resources" -}}
requests:
  cpu: {{ .Values.resources.requests.cpu | quote }}
  memory: {{ .Values.resources.requests.memory | quote }}
limits:
  cpu: {{ .Values.resources.limits.cpu | quote }}
  memory: {{ .Values.resources.limits.memory | quote }}
{{- end }}

{{/*
A Password generator's spec. Argument: the length. Letters and digits only: the value
goes into a URL and an env variable unescaped. Every field is spelled out (the CRD's
defaults included) so that Argo CD sees no difference after a sync.
*/}}
{{- define "lunarfront.passwordSpec" -}}
length: {{ . }}
digits: {{ div . 4 }}
symbols: 0
noUpper: false
allowRepeat: true
{{- end }}

{{/*
The Secret an ExternalSecret writes: owned by it (deleted with it), operator defaults
spelled out. Argument: the Secret's name.
*/}}
{{- define "lunarfront.externalSecretTarget" -}}
name: {{ . | quote }}
creationPolicy: Owner
deletionPolicy: Retain
{{- end }}
