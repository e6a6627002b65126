{{- /*
monitoring/alertmanager/alertmanager.yml (byte copy in files/) converted to the spec of a
monitoring.coreos.com/v1alpha1 AlertmanagerConfig. Every key of the source is either converted or refused with
`fail`, so the two formats cannot silently differ: a new key in the source needs a line here.
Secrets stay secrets: a `*_file: /etc/alertmanager/secrets/<key>` becomes a reference to <key> of the Secret
monitoring.alertmanager.alertmanagerConfig.secretName.
*/ -}}

{{- define "churn.alertmanager.source" -}}
{{- /* The source, with the control-plane webhook pointed at this release's Service. */ -}}
{{- $webhook := printf "http://%s.%s.svc:%v" (include "churn.fullname" .) .Release.Namespace .Values.service.port -}}
{{- .Files.Get "files/alertmanager/alertmanager.yml" | replace "http://churn-api.churn.svc:3000" $webhook -}}
{{- end -}}

{{- /* A matcher string (name="v", name!="v", name=~"re", name!~"re") as {name, matchType, value}; returned as JSON. */ -}}
{{- define "churn.alertmanager.matcher" -}}
{{- $pattern := `^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"\\]*)"\s*$` -}}
{{- if not (regexMatch $pattern .) -}}
{{- fail (printf "alertmanager.yml: matcher %q is not of the form name=\"value\" (=, !=, =~, !~); quote its value, or teach templates/_alertmanager.tpl the new form" .) -}}
{{- end -}}
{{- dict "name" (regexReplaceAll $pattern . "${1}") "matchType" (regexReplaceAll $pattern . "${2}") "value" (regexReplaceAll $pattern . "${3}") | toJson -}}
{{- end -}}

{{- define "churn.alertmanager.matchers" -}}
{{- $out := list -}}
{{- range . -}}
{{- $out = append $out (include "churn.alertmanager.matcher" . | fromJson) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* A route and its children; returned as JSON. */ -}}
{{- define "churn.alertmanager.route" -}}
{{- $names := dict "receiver" "receiver" "group_by" "groupBy" "group_wait" "groupWait" "group_interval" "groupInterval" "repeat_interval" "repeatInterval" "continue" "continue" -}}
{{- $out := dict -}}
{{- range $key, $value := . -}}
{{- if eq $key "matchers" -}}
{{- $_ := set $out "matchers" (include "churn.alertmanager.matchers" $value | fromJsonArray) -}}
{{- else if eq $key "routes" -}}
{{- $children := list -}}
{{- range $value -}}
{{- $children = append $children (include "churn.alertmanager.route" . | fromJson) -}}
{{- end -}}
{{- $_ := set $out "routes" $children -}}
{{- else if hasKey $names $key -}}
{{- $_ := set $out (get $names $key) $value -}}
{{- else -}}
{{- fail (printf "alertmanager.yml: route key %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $key) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* One notifier config (and its nested http_config); args: dict "config" "secretName"; returned as JSON. */ -}}
{{- define "churn.alertmanager.notifier" -}}
{{- $names := dict "send_resolved" "sendResolved" "max_alerts" "maxAlerts" "url" "url" "http_config" "httpConfig" "authorization" "authorization" "type" "type" "severity" "severity" "client" "client" "description" "description" "channel" "channel" "title" "title" "title_link" "titleLink" "text" "text" "to" "to" "smarthost" "smarthost" "from" "from" "auth_username" "authUsername" "require_tls" "requireTLS" -}}
{{- $secrets := dict "credentials_file" "credentials" "routing_key_file" "routingKey" "api_url_file" "apiURL" "auth_password_file" "authPassword" -}}
{{- $keyValues := dict "details" "details" "headers" "headers" -}}
{{- $secretName := .secretName -}}
{{- $out := dict -}}
{{- range $key, $value := .config -}}
{{- if hasKey $secrets $key -}}
{{- if not (hasPrefix "/etc/alertmanager/secrets/" $value) -}}
{{- fail (printf "alertmanager.yml: %s %q is not under /etc/alertmanager/secrets/, so it has no Secret key" $key $value) -}}
{{- end -}}
{{- $_ := set $out (get $secrets $key) (dict "name" $secretName "key" (base $value)) -}}
{{- else if hasKey $keyValues $key -}}
{{- $pairs := list -}}
{{- range $k := keys $value | sortAlpha -}}
{{- $pairs = append $pairs (dict "key" $k "value" (get $value $k)) -}}
{{- end -}}
{{- $_ := set $out (get $keyValues $key) $pairs -}}
{{- else if and (kindIs "map" $value) (hasKey $names $key) -}}
{{- $_ := set $out (get $names $key) (include "churn.alertmanager.notifier" (dict "config" $value "secretName" $secretName) | fromJson) -}}
{{- else if hasKey $names $key -}}
{{- $_ := set $out (get $names $key) $value -}}
{{- else -}}
{{- fail (printf "alertmanager.yml: receiver key %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $key) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* The AlertmanagerConfig spec (route, receivers, inhibitRules), as YAML. */ -}}
{{- define "churn.alertmanager.spec" -}}
{{- $am := include "churn.alertmanager.source" . | fromYaml -}}
{{- $secretName := .Values.monitoring.alertmanager.alertmanagerConfig.secretName -}}
{{- range $key, $_ := $am -}}
{{- if not (has $key (list "global" "templates" "route" "inhibit_rules" "receivers")) -}}
{{- fail (printf "alertmanager.yml: top-level key %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $key) -}}
{{- end -}}
{{- end -}}
{{- if $am.templates -}}
{{- fail "alertmanager.yml: notification template files cannot be shipped in an AlertmanagerConfig; inline them or use format secret" -}}
{{- end -}}
{{- /* Global settings become each notifier's own, in the notifier's key names; resolve_timeout is Alertmanager-wide. */ -}}
{{- $globals := dict
  "pagerduty_configs" (dict "pagerduty_url" "url")
  "slack_configs" (dict "slack_api_url_file" "api_url_file")
  "email_configs" (dict "smtp_smarthost" "smarthost" "smtp_from" "from" "smtp_auth_username" "auth_username" "smtp_auth_password_file" "auth_password_file" "smtp_require_tls" "require_tls") -}}
{{- $known := list "resolve_timeout" -}}
{{- range $_, $map := $globals -}}
{{- $known = concat $known (keys $map) -}}
{{- end -}}
{{- range $key, $_ := $am.global -}}
{{- if not (has $key $known) -}}
{{- fail (printf "alertmanager.yml: global key %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $key) -}}
{{- end -}}
{{- end -}}
{{- $types := dict "webhook_configs" "webhookConfigs" "pagerduty_configs" "pagerdutyConfigs" "slack_configs" "slackConfigs" "email_configs" "emailConfigs" -}}
{{- $receivers := list -}}
{{- range $am.receivers -}}
{{- $receiver := dict "name" .name -}}
{{- range $type, $configs := omit . "name" -}}
{{- if not (hasKey $types $type) -}}
{{- fail (printf "alertmanager.yml: receiver type %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $type) -}}
{{- end -}}
{{- $converted := list -}}
{{- range $configs -}}
{{- $config := deepCopy . -}}
{{- range $global, $own := get $globals $type | default dict -}}
{{- if and (hasKey $am.global $global) (not (hasKey $config $own)) -}}
{{- $_ := set $config $own (get $am.global $global) -}}
{{- end -}}
{{- end -}}
{{- $converted = append $converted (include "churn.alertmanager.notifier" (dict "config" $config "secretName" $secretName) | fromJson) -}}
{{- end -}}
{{- $_ := set $receiver (get $types $type) $converted -}}
{{- end -}}
{{- $receivers = append $receivers $receiver -}}
{{- end -}}
{{- $inhibitRules := list -}}
{{- range $am.inhibit_rules -}}
{{- range $key, $_ := . -}}
{{- if not (has $key (list "source_matchers" "target_matchers" "equal")) -}}
{{- fail (printf "alertmanager.yml: inhibit rule key %q has no AlertmanagerConfig equivalent in templates/_alertmanager.tpl" $key) -}}
{{- end -}}
{{- end -}}
{{- $rule := dict "sourceMatch" (include "churn.alertmanager.matchers" .source_matchers | fromJsonArray) "targetMatch" (include "churn.alertmanager.matchers" .target_matchers | fromJsonArray) -}}
{{- with .equal -}}
{{- $_ := set $rule "equal" . -}}
{{- end -}}
{{- $inhibitRules = append $inhibitRules $rule -}}
{{- end -}}
{{- $spec := toYaml (dict "route" (include "churn.alertmanager.route" $am.route | fromJson) "receivers" $receivers "inhibitRules" $inhibitRules) -}}
{{- /* A bare `=` is YAML 1.1's value tag: PyYAML-based tools (checkov) cannot read the document. Quote it. */ -}}
{{- regexReplaceAll "(?m)(matchType: )=$" $spec `${1}"="` -}}
{{- end -}}
