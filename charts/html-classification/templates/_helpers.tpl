{{/* Labels every object of the release carries. */}}
{{- define "html-classification.labels" -}}
app.kubernetes.io/name: html-classification
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
A rendered manifest from files/workflows (written by `medallion workflows render`, never by hand), with
the release's images, namespace and bucket. The files keep Argo's own {{...}} expressions: .Files.Get
does not template them.
*/}}
{{- define "html-classification.manifest" -}}
{{- $root := index . 0 -}}
{{- $text := $root.Files.Get (index . 1) -}}
{{- $text = regexReplaceAll "image: ghcr.io/html-classification/([a-z-]+):[0-9A-Za-z.+-]+" $text (printf "image: %s/${1}:%s" $root.Values.image.registry $root.Values.image.tag) -}}
{{- $text = regexReplaceAll "(?m)^  namespace: argo$" $text (printf "  namespace: %s" $root.Release.Namespace) -}}
{{- $text = regexReplaceAll "(?m)^(\\s+name: bucket\n\\s+value: )html-classification$" $text (printf "${1}%s" $root.Values.s3.bucket) -}}
{{- $text = regexReplaceAll "(?m)^  - 30 2 \\* \\* \\*$" $text (printf "  - %s" ($root.Values.cron.schedule | quote)) -}}
{{- $text = regexReplaceAll "(?m)^  - 0 6 \\* \\* 1$" $text (printf "  - %s" ($root.Values.cron.releaseSchedule | quote)) -}}
{{- $text = regexReplaceAll "(?m)^  timezone: UTC$" $text (printf "  timezone: %s" $root.Values.cron.timezone) -}}
{{- $text = regexReplaceAll "serviceAccountName: html-classification-workflow" $text (printf "serviceAccountName: %s" $root.Values.serviceAccount.name) -}}
{{ $text }}
{{- end -}}
