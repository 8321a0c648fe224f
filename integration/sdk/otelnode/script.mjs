// comply's test of real GenAI instrumentations from npm: the official
// openai package, instrumented by INSTRUMENTATION ("traceloop":
// @traceloop/instrumentation-openai; "traceloop-legacy": an older release
// of it, which records OpenLLMetry's indexed gen_ai.prompt.N attributes;
// "contrib": @opentelemetry/instrumentation-openai), calls the fake OpenAI
// API at OPENAI_BASE_URL; the spans are exported over OTLP/HTTP protobuf
// to OTLP_TRACES_URL. Run by otelnode_test.go.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const which = process.env.INSTRUMENTATION;
const exporter = new OTLPTraceExporter({ url: process.env.OTLP_TRACES_URL });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'otelnode-' + which }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});

let instrumentation;
switch (which) {
  case 'traceloop': {
    const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
    instrumentation = new OpenAIInstrumentation({ traceContent: true });
    break;
  }
  case 'traceloop-legacy': {
    const { OpenAIInstrumentation } = require('traceloop-openai-legacy');
    instrumentation = new OpenAIInstrumentation({ traceContent: true });
    break;
  }
  case 'contrib': {
    const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
    instrumentation = new OpenAIInstrumentation({ captureMessageContent: true });
    break;
  }
  default:
    throw new Error('INSTRUMENTATION must be traceloop, traceloop-legacy or contrib');
}
instrumentation.setTracerProvider(provider);
instrumentation.enable();

// Required after enable(), so that the instrumentation's hook patches it.
const { OpenAI } = require('openai');
const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'test-key', maxRetries: 0 });

const completion = await client.chat.completions.create({
  model: 'gpt-4.1',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
});
console.log('answer:', completion.choices[0].message.content);

await provider.forceFlush();
await provider.shutdown();
