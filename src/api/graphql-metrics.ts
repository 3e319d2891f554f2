import { createHistogram, usePrometheus } from '@graphql-yoga/plugin-prometheus'
import { Kind, type DocumentNode } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import type { ServiceMetrics } from '../metrics/service-metrics.js'

/**
 * GraphQL's share of /metrics: Yoga's Prometheus plugin for operations, and the subscriptions open
 * here. Operation names are chosen by clients, so they are no label (unbounded series); operations
 * are told apart by type and root field, which the schema bounds (the duration is observed after
 * validation, so only real fields reach it). HTTP URLs are no label either.
 */
export function graphqlMetrics(metrics: ServiceMetrics): Plugin[] {
  const { registry } = metrics
  return [
    usePrometheus({
      registry,
      endpoint: false,
      labels: { operationName: false, url: false, path: false, fieldName: false, typeName: false },
      metrics: {
        graphql_envelop_request_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_envelop_request_duration',
            help: 'GraphQL operations executed (HTTP, SSE, websockets, REST), by type and first root field',
            labelNames: ['operationType', 'rootField'],
          },
          fillLabelsFn: (params) => ({ operationType: params.operationType ?? 'unknown', rootField: rootFieldOf(params.document) }),
        }),
        graphql_envelop_error_result: true,
        graphql_envelop_phase_parse: true,
        graphql_envelop_phase_validate: true,
        // The plugin's other defaults are off: the metrics README "Metrics" lists are the ones kept. The
        // deprecated-field counter walked every document with the schema's type info on every request
        // (~3.5 % of a request's CPU under load, README Performance; the schema deprecates nothing); the
        // rest repeat the duration histogram (its _count is the request count) or time phases nobody reads.
        graphql_envelop_deprecated_field: false,
        graphql_envelop_request: false,
        graphql_envelop_request_time_summary: false,
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_execute: false,
        graphql_envelop_phase_subscribe: false,
        graphql_envelop_schema_change: false,
        graphql_yoga_http_duration: false,
      },
    }),
    {
      onSubscribe: () => ({
        onSubscribeResult: ({ result }) => {
          if (!(Symbol.asyncIterator in Object(result))) return
          return { onEnd: metrics.subscriptionOpened() }
        },
      }),
    },
  ]
}

function rootFieldOf(document: DocumentNode | undefined): string {
  const operation = document?.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)
  const first = operation?.selectionSet.selections[0]
  return first?.kind === Kind.FIELD ? first.name.value : 'unknown'
}
