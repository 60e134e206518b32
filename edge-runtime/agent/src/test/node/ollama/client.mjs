// Drives `unmask serve` with the official ollama npm client (pinned in package-lock.json), as an Ollama-speaking
// tool would: node client.mjs http://127.0.0.1:PORT MODEL. OllamaClientTest starts the real agent with the tiny
// package on loopback and runs this; every check is an assert, and the last line printed is a JSON summary.
import assert from 'node:assert/strict'
import { Ollama } from 'ollama'

const [host, model] = process.argv.slice(2)
const ollama = new Ollama({ host })
const options = { num_predict: 16, steps: 16, temperature: 0 } // greedy: the same answer every time
const summary = {}

const version = await ollama.version()
assert.match(version.version, /^\d+\.\d+\.\d+/)
summary.version = version.version

const list = await ollama.list()
const names = list.models.map((m) => m.name)
assert.ok(names.includes(`${model}:latest`), `list has ${model}:latest: ${names}`)
const card = list.models.find((m) => m.name === `${model}:latest`)
assert.ok(card.size > 0 && card.digest.length === 64 && card.details.format === 'onnx', JSON.stringify(card))
summary.list = names

const show = await ollama.show({ model })
assert.ok(show.capabilities.includes('completion') && show.capabilities.includes('insert'), JSON.stringify(show))
assert.equal(show.details.family, card.details.family)
summary.family = show.details.family

// generate: whole, then streamed; the pieces join to the whole answer, and the last record carries the counts
const whole = await ollama.generate({ model: `${model}:latest`, prompt: 'def fibonacci(n):', raw: true, options })
assert.equal(whole.done, true)
assert.ok(['stop', 'length'].includes(whole.done_reason), whole.done_reason)
assert.ok(whole.eval_count > 0 && whole.prompt_eval_count > 0 && whole.eval_duration > 0, JSON.stringify(whole))
assert.ok(whole.total_duration >= whole.eval_duration, JSON.stringify(whole))
let streamed = ''
let pieces = 0
let last
for await (const part of await ollama.generate({ model, prompt: 'def fibonacci(n):', raw: true, stream: true, options })) {
  if (!part.done) {
    pieces++
    assert.equal(typeof part.response, 'string')
  }
  streamed += part.response
  last = part
}
assert.equal(last.done, true)
assert.equal(last.response, '')
assert.equal(streamed, whole.response)
assert.equal(last.eval_count, whole.eval_count)
summary.generate = { text: whole.response, pieces, eval_count: whole.eval_count, done_reason: whole.done_reason }

// fill-in-the-middle with suffix
const infill = await ollama.generate({
  model, prompt: 'def square(x):\n    return ', suffix: '\n\ndef cube(x):\n    return x * x * x\n', options,
})
assert.equal(infill.done, true)
assert.ok(infill.eval_count > 0, JSON.stringify(infill))
summary.infill = infill.response

// chat: whole, then streamed
const messages = [{ role: 'user', content: 'Write a function that adds two numbers.' }]
const reply = await ollama.chat({ model, messages, options })
assert.equal(reply.message.role, 'assistant')
assert.equal(reply.done, true)
let chatStreamed = ''
let chatPieces = 0
for await (const part of await ollama.chat({ model, messages, stream: true, options })) {
  assert.equal(part.message.role, 'assistant')
  chatStreamed += part.message.content
  if (!part.done) chatPieces++
}
assert.equal(chatStreamed, reply.message.content)
summary.chat = { text: reply.message.content, pieces: chatPieces }

// ps: the model is loaded, until a time ahead
const ps = await ollama.ps()
const loaded = ps.models.find((m) => m.name === `${model}:latest`)
assert.ok(loaded, JSON.stringify(ps))
assert.ok(Date.parse(loaded.expires_at) > Date.now(), loaded.expires_at)
summary.ps = ps.models.map((m) => m.name)

// errors as Ollama's: the client's ResponseError with the status and the server's message
await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x' }), (e) => {
  assert.equal(e.status_code, 404)
  assert.match(e.error, /not found/)
  return true
})
await assert.rejects(ollama.generate({ model, prompt: 'x', options: { steps: 'many' } }), (e) => {
  assert.equal(e.status_code, 400)
  assert.match(e.error, /steps/)
  return true
})

// unload, as `ollama stop` does it: keep_alive 0 and no prompt
const unloaded = await ollama.generate({ model, prompt: '', keep_alive: 0 })
assert.equal(unloaded.done_reason, 'unload')
assert.deepEqual((await ollama.ps()).models, [])
summary.unloaded = true

console.log(JSON.stringify(summary))
