{{/* Standard labels on every object the chart installs. */}}
{{- define "arbees.labels" -}}
app.kubernetes.io/name: arbees
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: arbees
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- /* Labels that select one component's pods: stable across upgrades (selectors are immutable). */ -}}
{{- define "arbees.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: arbees
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "arbees.operatorName" -}}
{{ .Release.Name }}-operator
{{- end -}}

{{- define "arbees.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "arbees.operatorName" .) }}
{{- else -}}
{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "arbees.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "arbees.redisName" -}}
{{ .Release.Name }}-redis
{{- end -}}

{{- define "arbees.postgresqlName" -}}
{{ .Release.Name }}-postgresql
{{- end -}}

{{- /* TCP ports of Redis and PostgreSQL, in the cluster or outside it. */ -}}
{{- define "arbees.redisPort" -}}
{{ ternary 6379 .Values.externalRedis.port .Values.redis.enabled | int }}
{{- end -}}

{{- define "arbees.postgresPort" -}}
{{ ternary 5432 .Values.externalPostgresql.port .Values.postgresql.enabled | int }}
{{- end -}}

{{- /* The port of the Prometheus URL (its scheme's default when it names none). */ -}}
{{- define "arbees.prometheusPort" -}}
{{- $url := urlParse .Values.operator.prometheus.url -}}
{{- $host := get $url "host" -}}
{{- if regexMatch ":[0-9]+$" $host -}}
{{ regexFind "[0-9]+$" $host }}
{{- else -}}
{{ ternary 443 80 (eq (get $url "scheme") "https") }}
{{- end -}}
{{- end -}}

{{- /* Where shards may run: the namespaces that get the connections Secret, besides the release's. */ -}}
{{- define "arbees.sampleNamespace" -}}
{{ .Values.sampleShard.namespace | default (first .Values.shardNamespaces) | default .Release.Namespace }}
{{- end -}}

{{- /*
  Whether the chart is rendered against a cluster (helm install/upgrade, or template/lint with
  --dry-run=server): lookup answers only then, and every cluster has kube-system.
*/ -}}
{{- define "arbees.online" -}}
{{- if lookup "v1" "Namespace" "" "kube-system" }}true{{ end -}}
{{- end -}}

{{- /* One key of an existing Secret in the release namespace, decoded; "" when absent. */ -}}
{{- define "arbees.secretKey" -}}
{{- $root := index . 0 -}}
{{- $secret := lookup "v1" "Secret" $root.Release.Namespace (index . 1) -}}
{{- if and $secret $secret.data (hasKey $secret.data (index . 2)) -}}
{{ index $secret.data (index . 2) | b64dec }}
{{- end -}}
{{- end -}}

{{- /*
  Password of the in-cluster Redis or PostgreSQL (list $ "redis"|"postgresql"): the configured one,
  else the one an earlier install stored in the chart's Secret, else a new random one. Generated
  once per render (memoized in .Values) so that the Secret and the checksums agree.
*/ -}}
{{- define "arbees.generatedPassword" -}}
{{- $root := index . 0 -}}
{{- $which := index . 1 -}}
{{- if not (hasKey $root.Values "__arbeesGenerated") }}{{ $_ := set $root.Values "__arbeesGenerated" dict }}{{ end -}}
{{- $cache := get $root.Values "__arbeesGenerated" -}}
{{- if not (hasKey $cache $which) -}}
{{- $value := (index $root.Values $which).auth.password -}}
{{- if not $value -}}
{{- $value = include "arbees.secretKey" (list $root (printf "%s-%s" $root.Release.Name $which) "password") -}}
{{- end -}}
{{- $_ := set $cache $which ($value | default (randAlphaNum 32)) -}}
{{- end -}}
{{- get $cache $which -}}
{{- end -}}

{{- /*
  The key the detector signs signals with and the executor checks them by: the one an earlier
  install stored in the connections Secret, else a new random one; once per render.
*/ -}}
{{- define "arbees.signalKey" -}}
{{- if not (hasKey .Values "__arbeesSignalKey") -}}
{{- $existing := include "arbees.secretKey" (list . .Values.connections.secretName "signalKey") -}}
{{- $_ := set .Values "__arbeesSignalKey" ($existing | default (randAlphaNum 48)) -}}
{{- end -}}
{{- get .Values "__arbeesSignalKey" -}}
{{- end -}}

{{- /*
  Whether each component connects to Redis as its own ACL user ("true" or ""): the in-cluster Redis
  with redis.aclUsers, or an external one with externalRedis.aclUsers (whose users and connections
  Secrets are made by hand, README.md). The operator then reads redisUrl.<component> for each pod.
*/ -}}
{{- define "arbees.redisAclUsers" -}}
{{- if or (and .Values.redis.enabled .Values.redis.aclUsers) (and (not .Values.redis.enabled) .Values.externalRedis.aclUsers) }}true{{ end -}}
{{- end -}}

{{- /* The Redis user each shard component connects as (files/redis-acl.txt). */ -}}
{{- define "arbees.redisComponentUsers" -}}
kalshi-monitor: monitor
polymarket-monitor: monitor
detector: detector
executor: executor
{{- end -}}

{{- /*
  The in-cluster Redis's ACL users as a list of {name, rules}, from files/redis-acl.txt (one line
  per user: the name, then its rules; # starts a comment).
*/ -}}
{{- define "arbees.redisAclRules" -}}
{{- range splitList "\n" (.Files.Get "files/redis-acl.txt") }}
{{- $line := trim . }}
{{- if and $line (not (hasPrefix "#" $line)) }}
{{- $fields := regexSplit "\\s+" $line -1 }}
- name: {{ first $fields | quote }}
  rules: {{ rest $fields | join " " | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- /*
  Password of an in-cluster Redis user (list $ user): the operator's is redis.auth.password (the
  default user's without aclUsers), see arbees.generatedPassword; every other user's is the one an
  earlier install stored in Secret <release>-redis (key password-<user>), else a new random one.
  Once per render.
*/ -}}
{{- define "arbees.redisUserPassword" -}}
{{- $root := index . 0 -}}
{{- $user := index . 1 -}}
{{- if eq $user "operator" -}}
{{- include "arbees.generatedPassword" (list $root "redis") -}}
{{- else -}}
{{- if not (hasKey $root.Values "__arbeesGenerated") }}{{ $_ := set $root.Values "__arbeesGenerated" dict }}{{ end -}}
{{- $cache := get $root.Values "__arbeesGenerated" -}}
{{- $which := printf "redis-%s" $user -}}
{{- if not (hasKey $cache $which) -}}
{{- $existing := include "arbees.secretKey" (list $root (include "arbees.redisName" $root) (printf "password-%s" $user)) -}}
{{- $_ := set $cache $which ($existing | default (randAlphaNum 32)) -}}
{{- end -}}
{{- get $cache $which -}}
{{- end -}}
{{- end -}}

{{- /*
  The in-cluster Redis's ACL file: with aclUsers, `default` off and one user per line of
  files/redis-acl.txt (its password as a SHA-256, never in clear); without, `default` with the one
  password and every right. Redis reads it at start (redis.conf's aclfile), so no password is ever
  on its command line.
*/ -}}
{{- define "arbees.redisAclFile" -}}
{{- if .Values.redis.aclUsers -}}
user default off
{{- range include "arbees.redisAclRules" . | fromYamlArray }}
user {{ .name }} reset on #{{ include "arbees.redisUserPassword" (list $ .name) | sha256sum }} {{ .rules }}
{{- end }}
{{- else -}}
user default on #{{ include "arbees.generatedPassword" (list . "redis") | sha256sum }} ~* &* +@all
{{- end }}
{{ end -}}

{{- /* The in-cluster Redis's configuration file: everything it would otherwise take as arguments. */ -}}
{{- define "arbees.redisConf" -}}
port 6379
dir /data
appendonly yes
aclfile /etc/redis/users.acl
# No password on the command line or in the process title: ps shows "redis-server /etc/redis/redis.conf".
set-proc-title no
{{ end -}}

{{- /* The in-cluster Redis's URL for a user (list $ user). */ -}}
{{- define "arbees.inClusterRedisUrl" -}}
{{- $root := index . 0 -}}
{{- $user := index . 1 -}}
{{- $name := ternary $user "" $root.Values.redis.aclUsers -}}
{{- printf "redis://%s:%s@%s.%s.svc:6379/0" $name (include "arbees.urlUserinfo" (include "arbees.redisUserPassword" (list $root $user))) (include "arbees.redisName" $root) $root.Release.Namespace -}}
{{- end -}}

{{- /* Percent-encoding for the user-info part of a URL (urlquery writes a space as "+"). */ -}}
{{- define "arbees.urlUserinfo" -}}
{{ urlquery . | replace "+" "%20" }}
{{- end -}}

{{- /*
  The connection URLs as a YAML map {redisUrl, postgresUrl} (and, for the in-cluster Redis with
  aclUsers, componentRedisUrls: {<component>: URL of its user}; redisUrl is then the operator's),
  or "" when they cannot be known here: external endpoints rendered without a cluster (helm
  template / lint), where the existing Secrets with the passwords cannot be read. Fails when a
  Secret it needs is missing.
*/ -}}
{{- define "arbees.connectionUrls" -}}
{{- $v := .Values -}}
{{- $online := "" -}}
{{- if not (and $v.redis.enabled $v.postgresql.enabled) -}}
{{- $online = include "arbees.online" . -}}
{{- end -}}
{{- $ns := .Release.Namespace -}}
{{- $redisUrl := "" -}}
{{- $postgresUrl := "" -}}
{{- $known := true -}}
{{- $componentUrls := dict -}}
{{- if $v.redis.enabled -}}
{{- $redisUrl = include "arbees.inClusterRedisUrl" (list . "operator") -}}
{{- if $v.redis.aclUsers -}}
{{- range $component, $user := include "arbees.redisComponentUsers" . | fromYaml -}}
{{- $_ := set $componentUrls $component (include "arbees.inClusterRedisUrl" (list $ $user)) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $r := $v.externalRedis -}}
{{- $auth := "" -}}
{{- if $r.auth.existingSecret -}}
{{- if $online -}}
{{- $password := include "arbees.secretKey" (list . $r.auth.existingSecret $r.auth.passwordKey) -}}
{{- if not $password -}}
{{- fail (printf "externalRedis.auth.existingSecret: Secret %q with key %q not found in namespace %s; create it first (k8s/eks/README.md), or set connections.create=false and create Secret %q yourself" $r.auth.existingSecret $r.auth.passwordKey $ns $v.connections.secretName) -}}
{{- end -}}
{{- $auth = printf "%s:%s@" (include "arbees.urlUserinfo" $r.username) (include "arbees.urlUserinfo" $password) -}}
{{- else -}}
{{- $known = false -}}
{{- end -}}
{{- else if $r.username -}}
{{- $auth = printf "%s@" (include "arbees.urlUserinfo" $r.username) -}}
{{- end -}}
{{- $redisUrl = printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" $r.tls) $auth $r.host (int $r.port) (int $r.database) -}}
{{- end -}}
{{- if $v.postgresql.enabled -}}
{{- $p := $v.postgresql -}}
{{- $postgresUrl = printf "postgres://%s:%s@%s.%s.svc:5432/%s" (include "arbees.urlUserinfo" $p.username) (include "arbees.urlUserinfo" (include "arbees.generatedPassword" (list . "postgresql"))) (include "arbees.postgresqlName" .) $ns $p.database -}}
{{- else -}}
{{- $p := $v.externalPostgresql -}}
{{- if $online -}}
{{- $user := include "arbees.secretKey" (list . $p.auth.existingSecret $p.auth.usernameKey) -}}
{{- $password := include "arbees.secretKey" (list . $p.auth.existingSecret $p.auth.passwordKey) -}}
{{- if not (and $user $password) -}}
{{- fail (printf "externalPostgresql.auth.existingSecret: Secret %q with keys %q and %q not found in namespace %s; create it first (k8s/eks/README.md), or set connections.create=false and create Secret %q yourself" $p.auth.existingSecret $p.auth.usernameKey $p.auth.passwordKey $ns $v.connections.secretName) -}}
{{- end -}}
{{- $postgresUrl = printf "postgres://%s:%s@%s:%d/%s?sslmode=%s" (include "arbees.urlUserinfo" $user) (include "arbees.urlUserinfo" $password) $p.host (int $p.port) $p.database $p.sslMode -}}
{{- else -}}
{{- $known = false -}}
{{- end -}}
{{- end -}}
{{- if $known -}}
redisUrl: {{ $redisUrl | quote }}
postgresUrl: {{ $postgresUrl | quote }}
{{- with $componentUrls }}
componentRedisUrls: {{ toJson . }}
{{- end }}
{{- end -}}
{{- end -}}

{{- /* Rules across values that the schema cannot say with a clear message. */ -}}
{{- define "arbees.validate" -}}
{{- $v := .Values -}}
{{- if $v.connections.create -}}
{{- if and $v.redis.enabled $v.externalRedis.host -}}
{{- fail "redis.enabled and externalRedis.host are both set: choose the in-cluster Redis or the external one" -}}
{{- end -}}
{{- if not (or $v.redis.enabled $v.externalRedis.host) -}}
{{- fail "connections.create needs a Redis: set redis.enabled=true (in the cluster) or externalRedis.host (e.g. ElastiCache)" -}}
{{- end -}}
{{- if and (not $v.redis.enabled) $v.externalRedis.aclUsers -}}
{{- fail "externalRedis.aclUsers needs connections.create=false: create the Redis users and each namespace's connections Secret (redisUrl.<component>) yourself, as README.md (Redis ACL users) says" -}}
{{- end -}}
{{- if and $v.postgresql.enabled $v.externalPostgresql.host -}}
{{- fail "postgresql.enabled and externalPostgresql.host are both set: choose the in-cluster PostgreSQL or the external one" -}}
{{- end -}}
{{- if not (or $v.postgresql.enabled $v.externalPostgresql.host) -}}
{{- fail "connections.create needs a PostgreSQL: set postgresql.enabled=true (in the cluster) or externalPostgresql.host (e.g. RDS)" -}}
{{- end -}}
{{- if and (not $v.postgresql.enabled) (not $v.externalPostgresql.auth.existingSecret) -}}
{{- fail "externalPostgresql.auth.existingSecret is required: the Secret (in the release namespace) with the database user name and password" -}}
{{- end -}}
{{- end -}}
{{- if has .Release.Namespace $v.shardNamespaces -}}
{{- fail (printf "shardNamespaces must not include the release namespace %s: shards need the privileged Pod Security level for their VPN pod, the operator's namespace should stay restricted" .Release.Namespace) -}}
{{- end -}}
{{- if $v.sampleShard.enabled -}}
{{- $ns := include "arbees.sampleNamespace" . -}}
{{- if not (or (eq $ns .Release.Namespace) (has $ns $v.shardNamespaces)) -}}
{{- fail (printf "sampleShard.namespace %s must be the release namespace or one of shardNamespaces (it needs the connections Secret)" $ns) -}}
{{- end -}}
{{- if and $v.operator.watchNamespaces (not (has $ns $v.operator.watchNamespaces)) -}}
{{- fail (printf "sampleShard.namespace %s is not in operator.watchNamespaces %v: the operator would never see it" $ns $v.operator.watchNamespaces) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /*
  NetworkPolicy of the in-cluster Redis or PostgreSQL (list $ component port): its port is open to
  the operator (Redis only) and to the shard components that use it (Redis: all four; PostgreSQL:
  the executor), made by the operator (the label app.kubernetes.io/managed-by: arbees-operator,
  which the chart's admission policy lets only the operator's Deployments carry), in the shard
  namespaces; it reaches nothing (it needs no egress, not even DNS).
*/ -}}
{{- define "arbees.datastoreNetworkPolicy" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $users := ternary (list "kalshi-monitor" "polymarket-monitor" "detector" "executor") (list "executor") (eq $component "redis") -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $root.Release.Name }}-{{ $component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "arbees.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $component }}
spec:
  podSelector:
    matchLabels:
      {{- include "arbees.selectorLabels" (list $root $component) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        {{- if eq $component "redis" }}
        - podSelector:
            matchLabels:
              {{- include "arbees.selectorLabels" (list $root "operator") | nindent 14 }}
        {{- end }}
        - namespaceSelector:
            {{- with $root.Values.shardNamespaces }}
            matchExpressions:
              - key: kubernetes.io/metadata.name
                operator: In
                values: {{ toJson . }}
            {{- end }}
          podSelector:
            matchLabels:
              app.kubernetes.io/managed-by: arbees-operator
            matchExpressions:
              - key: app.kubernetes.io/component
                operator: In
                values: {{ toJson $users }}
      ports:
        - protocol: TCP
          port: {{ index . 2 }}
  egress: []
{{- end -}}

{{- /*
  Who may reach an in-cluster store, or where an external one is (list $ component enabled):
  NetworkPolicyPeer objects. An external store the chart is told of needs networkPolicy.storeCidrs;
  with stores the chart knows nothing of (a connections Secret made by hand) and no storeCidrs,
  nothing is rendered and the shards may reach the store's port at any address.
*/ -}}
{{- define "arbees.storePeers" -}}
{{- $root := index . 0 -}}
{{- if index . 2 -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ $root.Release.Namespace }}
  podSelector:
    matchLabels:
      {{- include "arbees.selectorLabels" (list $root (index . 1)) | nindent 6 }}
{{- else -}}
{{- $np := $root.Values.networkPolicy -}}
{{- $external := ternary $root.Values.externalRedis.host $root.Values.externalPostgresql.host (eq (index . 1) "redis") -}}
{{- if and $np.enabled $external (not $np.storeCidrs) -}}
{{- fail (printf "networkPolicy.storeCidrs is required with an external %s (%s): the CIDRs it lives in (e.g. the VPC's data subnets)" (index . 1) $external) -}}
{{- end -}}
{{- range $np.storeCidrs }}
- ipBlock:
    cidr: {{ . }}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The shards' NetworkPolicy destinations, as operator/builders/settings.ts ShardNetwork (JSON). */ -}}
{{- define "arbees.shardNetwork" -}}
{{- $n := .Values.networkPolicy.shards -}}
{{- $network := dict "dns" $n.dns "metricsFrom" $n.metricsFrom -}}
{{- $_ := set $network "redis" (include "arbees.storePeers" (list . "redis" .Values.redis.enabled) | fromYamlArray) -}}
{{- $_ := set $network "postgres" (include "arbees.storePeers" (list . "postgresql" .Values.postgresql.enabled) | fromYamlArray) -}}
{{- $kalshi := dict "ports" list -}}
{{- range $n.kalshi.ports }}{{ $_ := set $kalshi "ports" (append $kalshi.ports (dict "protocol" "TCP" "port" .)) }}{{ end -}}
{{- with $n.kalshi.cidrs }}{{ $_ := set $kalshi "peers" list }}{{ range . }}{{ $_ := set $kalshi "peers" (append $kalshi.peers (dict "ipBlock" (dict "cidr" .))) }}{{ end }}{{ end -}}
{{- $_ := set $network "kalshi" $kalshi -}}
{{- $vpn := dict -}}
{{- with $n.vpnServers.cidrs }}{{ $_ := set $vpn "peers" list }}{{ range . }}{{ $_ := set $vpn "peers" (append $vpn.peers (dict "ipBlock" (dict "cidr" .))) }}{{ end }}{{ end -}}
{{- with $n.vpnServers.ports }}{{ $_ := set $vpn "ports" . }}{{ end -}}
{{- $_ := set $network "vpnServers" $vpn -}}
{{- toJson $network -}}
{{- end -}}

{{- /*
  The operator's settings: the ARBEES_* variables operator/config.ts reads (`arbees operator --help`
  lists them), as a YAML map. The Redis URL is not here: it comes from the connections Secret,
  like every shard's.
*/ -}}
{{- define "arbees.operatorConfig" -}}
{{- $o := .Values.operator -}}
ARBEES_OPERATOR_LEASE_NAME: {{ $o.leaderElection.leaseName | default (include "arbees.operatorName" .) | quote }}
{{- with $o.watchNamespaces }}
ARBEES_OPERATOR_WATCH_NAMESPACES: {{ join "," . | quote }}
{{- end }}
ARBEES_HTTP_PORT: {{ $o.metricsPort | int | quote }}
ARBEES_LOG_LEVEL: {{ $o.logLevel | quote }}
ARBEES_PROMETHEUS_URL: {{ $o.prometheus.url | quote }}
ARBEES_BREAKER_INTERVAL_MS: {{ $o.breaker.intervalMs | int | quote }}
ARBEES_CONTROL_TTL_SECONDS: {{ $o.breaker.controlTtlSeconds | int | quote }}
ARBEES_OPERATOR_RESYNC_SECONDS: {{ $o.resyncSeconds | int | quote }}
ARBEES_WORKLOAD_IMAGE: {{ $o.workloadImage | default (include "arbees.image" .) | quote }}
{{- with $o.vpnImage }}
ARBEES_VPN_IMAGE: {{ . | quote }}
{{- end }}
{{- with $o.images }}
ARBEES_WORKLOAD_IMAGES: {{ toJson . | quote }}
{{- end }}
{{- with $o.vpnImages }}
ARBEES_VPN_IMAGES: {{ toJson . | quote }}
{{- end }}
{{- with .Values.liveTrading.namespaces }}
ARBEES_LIVE_TRADING_NAMESPACES: {{ join "," . | quote }}
{{- end }}
{{- if .Values.networkPolicy.enabled }}
ARBEES_SHARD_NETWORK: {{ include "arbees.shardNetwork" . | quote }}
{{- end }}
ARBEES_POD_CIDR: {{ $o.podCidr | quote }}
ARBEES_SERVICE_CIDR: {{ $o.serviceCidr | quote }}
ARBEES_CONNECTIONS_SECRET: {{ .Values.connections.secretName | quote }}
{{- if include "arbees.redisAclUsers" . }}
ARBEES_REDIS_ACL_USERS: "true"
{{- end }}
ARBEES_POSTGRES_PORT: {{ include "arbees.postgresPort" . | quote }}
{{- with $o.venueEndpoints }}
ARBEES_VENUE_ENDPOINTS: {{ toJson . | quote }}
{{- end }}
{{- end -}}
