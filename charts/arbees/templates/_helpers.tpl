{{/* Standard labels on every object the chart installs. */}}
{{- define "arbees.labels" -}}
app.kubernetes.io/name: arbees
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: arbees
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "arbees.operatorName" -}}
{{ .Release.Name }}-operator
{{- end -}}
