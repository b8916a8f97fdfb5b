import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AgentPlayout, type PlayoutSink } from "../../../app/src/call/agent-playout.js";

interface Sent {
  readonly kind: "media" | "mark" | "clear";
  readonly at: number;
  readonly ms?: number;
  readonly pcm?: Buffer;
  readonly playAt?: number;
}

function rig(leadMs = 400) {
  const sent: Sent[] = [];
  const sink: PlayoutSink = {
    media: (pcm, ms, playAt, now) => sent.push({ kind: "media", at: now, ms, pcm: Buffer.from(pcm), playAt }),
    mark: () => sent.push({ kind: "mark", at: -1 }),
    clear: () => sent.push({ kind: "clear", at: -1 }),
  };
  const p = new AgentPlayout(
    8000,
    { leadMs, tailFlushMs: 80, chunkBytesAt8k: 3200, resamplerQuality: 3 },
    sink,
  );
  p.setAgentFormat({ encoding: "pcm16", sampleRate: 8000 });
  return { p, sent };
}

/** Non-zero PCM so padding (zeros) can be told apart from audio. */
const speech = (ms: number) => Buffer.alloc(ms * 16, 7).toString("base64");

/** Drives the playout like the shared ticker (every 20 ms); chunks arrive at their own times. */
function run(p: AgentPlayout, untilMs: number, chunks: Array<{ at: number; ms: number; id: number }>): void {
  let next = 0;
  for (let t = 0; t <= untilMs; t += 20) {
    while (next < chunks.length && (chunks[next] as { at: number }).at <= t) {
      const c = chunks[next++] as { at: number; ms: number; id: number };
      p.push(speech(c.ms), c.id, c.at);
      p.pump(c.at);
    }
    p.pump(t);
  }
}

function paddingMs(sent: readonly Sent[]): number {
  let zeros = 0;
  for (const s of sent) if (s.pcm) for (const b of s.pcm) if (b === 0) zeros++;
  return zeros / 16;
}

describe("AgentPlayout", () => {
  it("an agent streaming at real time gets at most one padded gap, not one per chunk", () => {
    const { p, sent } = rig();
    const chunks = Array.from({ length: 20 }, (_, i) => ({ at: i * 250, ms: 250, id: 1 }));
    run(p, 6000, chunks);
    const media = sent.filter((s) => s.kind === "media");
    const midStream = media.slice(0, -1);
    const gaps = midStream.filter((s) => paddingMs([s]) > 0).length;
    // With 200 ms minimum frames, a stream at exactly real time must underrun until a backlog builds.
    // Padding only when Exotel is about to run dry keeps that to two short gaps at the start; padding
    // whenever the agent paused 80 ms gave three, 350 ms in all, in this very stream.
    assert.ok(
      paddingMs(midStream) <= 250 && gaps <= 2,
      `${paddingMs(midStream)} ms in ${gaps} gaps mid-speech`,
    );
    const pad = paddingMs(sent);
    const audioMs = sent.reduce((a, s) => a + (s.ms ?? 0), 0) - pad;
    assert.equal(audioMs, 5000, "every ms of agent audio goes out");
  });

  it("a burst goes out paced under the lead, with the tail padded only at the very end, then a mark", () => {
    const { p, sent } = rig(400);
    run(p, 3000, [{ at: 0, ms: 1130, id: 3 }]);
    const media = sent.filter((s) => s.kind === "media");
    for (const m of media) {
      const ahead = (m.playAt ?? 0) + (m.ms ?? 0) - m.at;
      assert.ok(ahead <= 400, `frame queued ${ahead} ms ahead`);
    }
    assert.equal(paddingMs(sent), 200 - 130, "only the last frame is padded, up to the 200 ms minimum");
    assert.equal(sent.at(-1)?.kind, "mark");
    const tail = media.at(-1) as Sent;
    const prev = media.at(-2) as Sent;
    assert.equal(
      tail.playAt,
      (prev.playAt ?? 0) + (prev.ms ?? 0),
      "the tail plays right after the audio before it",
    );
  });

  it("barge-in drops buffered audio, clears Exotel, and refuses late chunks of that response", () => {
    const { p, sent } = rig();
    p.push(speech(3000), 5, 0);
    p.pump(0);
    const cut = p.interrupt(5, 100);
    assert.ok(cut.droppedBufferedMs >= 2600 && cut.cutQueuedMs === 300);
    assert.equal(sent.at(-1)?.kind, "clear");
    const cleared = sent.length;
    assert.equal(p.push(speech(200), 5, 120), "late");
    // The next response in other bytes, so what follows the clear can be told apart sample by sample.
    assert.equal(p.push(Buffer.alloc(200 * 16, 9).toString("base64"), 6, 140), "queued");
    assert.equal(p.lateChunksDropped, 1);
    for (let t = 140; t <= 3000; t += 20) p.pump(t);
    const after = sent.slice(cleared).filter((x) => x.kind === "media");
    assert.ok(after.length > 0, "the next response is played");
    for (const m of after) {
      for (const b of m.pcm ?? []) {
        assert.notEqual(b, 7, "nothing of the interrupted response is sent after the clear");
      }
    }
    assert.ok(
      after.some((m) => m.pcm?.includes(9)),
      "the next response's audio goes out",
    );
  });

  it("forgets marks Exotel never echoes, so a long call does not accumulate them", () => {
    const { p } = rig();
    let t = 0;
    for (let i = 0; i < 200; i++) {
      p.push(speech(200), i, t);
      for (let k = 0; k < 30; k++, t += 20) p.pump(t);
    }
    assert.ok(p.marksSent >= 150);
    const pending = (p as unknown as { pendingMarks: Map<string, number> }).pendingMarks.size;
    assert.ok(pending <= 60, `${pending} marks still pending after ${t / 1000} s`);
  });
});
