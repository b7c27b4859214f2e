{{/* Names ------------------------------------------------------------------------------------------------ */}}

{{- define "nexus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nexus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nexus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nexus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nexus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nexus.secretName" -}}
{{- printf "%s-credentials" (include "nexus.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nexus.secretStoreName" -}}
{{- default (include "nexus.fullname" .) .Values.externalSecret.secretStore.name }}
{{- end }}

{{/* Labels: app.kubernetes.io/* on everything ------------------------------------------------------------ */}}

{{- define "nexus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nexus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nexus.labels" -}}
helm.sh/chart: {{ include "nexus.chart" . }}
{{ include "nexus.selectorLabels" . }}
app.kubernetes.io/version: {{ include "nexus.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nexus-platform
nexus-platform/region: {{ .Values.region }}
nexus-platform/role: {{ .Values.role }}
{{- end }}

{{/* The API pods: selector labels plus the component. */}}
{{- define "nexus.apiSelectorLabels" -}}
{{ include "nexus.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{/* Image --------------------------------------------------------------------------------------------------- */}}

{{- define "nexus.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "nexus.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "nexus.imageTag" .) }}
{{- end }}
{{- end }}

{{/* checkov skip for CKV_K8S_43 (image by digest), only while the image is referenced by tag. */}}
{{- define "nexus.checkovImageSkip" -}}
{{- if not .Values.image.digest -}}
CKV_K8S_43=Referenced by tag: the pipeline pins an immutable ECR tag (git sha, tag immutability on) per region; set image.digest to pull by digest
{{- end }}
{{- end }}

{{/* Restricted container securityContext (PSA "restricted" and more). */}}
{{- define "nexus.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "nexus.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* More pods than one? (then a PodDisruptionBudget makes sense) */}}
{{- define "nexus.multiplePods" -}}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) 1 }}true{{ end }}
{{- else }}
{{- if gt (int .Values.replicaCount) 1 }}true{{ end }}
{{- end }}
{{- end }}

{{/* Prometheus selector of this release's series (the operator adds namespace and service labels). */}}
{{- define "nexus.promSelector" -}}
namespace="{{ .Release.Namespace }}",service="{{ include "nexus.fullname" . }}"
{{- end }}
