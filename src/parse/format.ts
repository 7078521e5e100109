// Which exposition a scrape answered in, from its Content-Type (the contract between the scrape
// client, which negotiates it, and the target's pipeline, which parses it).

export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/**
 * The exposition of a response, as Prometheus decides it: the delimited MetricFamily protobuf,
 * OpenMetrics text, else the Prometheus text format (also for a missing or unknown type).
 */
export function formatOf(contentType: string): ExpositionFormat {
  const ct = contentType.toLowerCase();
  if (ct.startsWith('application/vnd.google.protobuf')) {
    // only the delimited MetricFamily stream; a target answering another proto is read as text
    // and fails there with a parse error that names its first line
    return ct.includes('proto=io.prometheus.client.metricfamily') && ct.includes('encoding=delimited')
      ? 'protobuf'
      : 'text';
  }
  return ct.startsWith('application/openmetrics-text') ? 'openmetrics' : 'text';
}
