/**
 * ConsoleFeed on its own: the picture it keeps (and its bounds), the snapshot a new client gets,
 * streaming to clients, the client cap, and dropping a client that stops reading.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConsoleEvent, ConsoleMessage, ConsoleSnapshot } from "../../app/src/console/events.js";
import { type ConsoleClient, ConsoleFeed } from "../../app/src/console/feed.js";

/** A client that records what it is sent; `pending` is what it reports as unsent. */
class Recorder implements ConsoleClient {
  readonly frames: string[] = [];
  pending = 0;
  closed = false;
  write(frame: string): number {
    this.frames.push(frame);
    return this.pending;
  }
  close(): void {
    this.closed = true;
  }
  /** The JSON messages of every `data:` line received so far. */
  messages(): ConsoleMessage[] {
    return this.frames.flatMap((f) =>
      f
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => JSON.parse(l.slice(6)) as ConsoleMessage),
    );
  }
}

const started = (callId: string, at = 1_000) =>
  ({
    type: "call_started",
    callId,
    at,
    callSid: `CA-${callId}`,
    streamSid: `ST-${callId}`,
    from: "+919800000001",
    to: "+918000000000",
    agentId: "agent_1",
  }) as const;

describe("ConsoleFeed", () => {
  it("keeps active calls with their timeline, latencies, barge-ins and DTMF", () => {
    const feed = new ConsoleFeed();
    feed.publish(started("c1"));
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "hello", at: 1_100 });
    feed.publish({ type: "turn", callId: "c1", latencyMs: 812.4, at: 1_200 });
    feed.publish({
      type: "transcript",
      callId: "c1",
      role: "agent",
      text: "Hi, how can I help you today?",
      at: 1_300,
    });
    feed.publish({ type: "interruption", callId: "c1", at: 1_400 });
    feed.publish({ type: "agent_correction", callId: "c1", text: "Hi, how can", at: 1_401 });
    feed.publish({ type: "dtmf", callId: "c1", digits: "12#", at: 1_500 });

    const snap = feed.snapshot();
    assert.equal(snap.active.length, 1);
    const call = snap.active[0];
    assert.ok(call);
    assert.equal(call.from, "+919800000001");
    assert.deepEqual(call.latenciesMs, [812]);
    assert.equal(call.interruptions, 1);
    assert.equal(call.dtmf, "12#");
    assert.deepEqual(
      call.timeline.map((e) => (e.kind === "line" ? `${e.role}:${e.text}${e.cut ? " (cut)" : ""}` : e.kind)),
      ["caller:hello", "agent:Hi, how can (cut)", "interruption", "dtmf"],
    );
  });

  it("moves an ended call to the last-calls list with its summary and end reason in words", () => {
    const feed = new ConsoleFeed();
    feed.publish(started("c1"));
    feed.publish({ type: "dtmf", callId: "c1", digits: "9", at: 1_500 });
    feed.publish({
      type: "call_ended",
      callId: "c1",
      at: 9_000,
      endReason: "caller_hangup",
      endedBy: "caller",
      durationS: 8,
      timeToFirstAudioMs: 640,
      responseLatencyMs: { count: 2, avg: 700, max: 900 },
      interruptions: 1,
      transcriptTurns: 4,
    });
    const snap = feed.snapshot();
    assert.equal(snap.active.length, 0);
    assert.equal(feed.activeCount, 0);
    const row = snap.ended[0];
    assert.ok(row);
    assert.equal(row.endReason, "caller_hangup");
    assert.match(row.endText, /caller hung up/);
    assert.equal(row.from, "+919800000001");
    assert.equal(row.dtmf, "9");
    assert.equal(row.startedAt, 1_000);
    assert.equal(row.endedAt, 9_000);
  });

  it("bounds everything: calls, timeline, latencies, ended calls, text and ids", () => {
    const feed = new ConsoleFeed({
      maxActiveCalls: 3,
      maxTimeline: 5,
      maxLatencies: 4,
      maxEnded: 2,
      maxTextChars: 10,
      maxFieldChars: 8,
    });
    for (let i = 0; i < 10; i++) feed.publish(started(`call-${i}`));
    assert.equal(feed.activeCount, 3);
    assert.deepEqual(
      feed.snapshot().active.map((c) => c.callId),
      ["call-7", "call-8", "call-9"],
    );
    for (let i = 0; i < 50; i++) {
      feed.publish({ type: "transcript", callId: "call-9", role: "caller", text: "x".repeat(100), at: i });
      feed.publish({ type: "turn", callId: "call-9", latencyMs: i, at: i });
      feed.publish({ type: "dtmf", callId: "call-9", digits: "1234567890", at: i });
    }
    const call = feed.snapshot().active.find((c) => c.callId === "call-9");
    assert.ok(call);
    assert.equal(call.timeline.length, 5);
    assert.deepEqual(call.latenciesMs, [46, 47, 48, 49]);
    for (const e of call.timeline) {
      if (e.kind === "line") assert.ok(e.text.length <= 11, "text clipped");
      if (e.kind === "dtmf") assert.ok(e.digits.length <= 9, "digits clipped");
    }
    assert.ok(call.dtmf.length <= 9);
    assert.ok(feed.snapshot().active.every((c) => c.callId.length <= 9));
    for (let i = 0; i < 6; i++)
      feed.publish({
        type: "call_ended",
        callId: `call-${i}`,
        at: i,
        endReason: "agent_ended",
        endedBy: "agent",
        durationS: 1,
        interruptions: 0,
        transcriptTurns: 0,
      });
    assert.deepEqual(
      feed.snapshot().ended.map((c) => c.callId),
      ["call-5", "call-4"],
    );
  });

  it("an event for an unknown call starts a placeholder card instead of being lost", () => {
    const feed = new ConsoleFeed();
    feed.publish({ type: "dtmf", callId: "late", digits: "5", at: 10 });
    const call = feed.snapshot().active[0];
    assert.equal(call?.callId, "late");
    assert.equal(call?.dtmf, "5");
    feed.publish(started("late", 20));
    assert.equal(feed.snapshot().active[0]?.callSid, "CA-late");
  });

  it("sends a new client the snapshot first, then every event; serializes nothing without clients", () => {
    const feed = new ConsoleFeed();
    feed.publish(started("c1"));
    const a = new Recorder();
    assert.equal(feed.subscribe(a), true);
    assert.match(a.frames[0] ?? "", /^retry: 3000\n/);
    const first = a.messages()[0] as ConsoleSnapshot;
    assert.equal(first.type, "snapshot");
    assert.equal(first.active[0]?.callId, "c1");
    assert.equal(first.limits.maxTimeline, feed.limits.maxTimeline);

    feed.publish({ type: "transcript", callId: "c1", role: "agent", text: "Namaste", at: 5 });
    assert.deepEqual(a.messages()[1], {
      type: "transcript",
      callId: "c1",
      role: "agent",
      text: "Namaste",
      at: 5,
    });

    feed.unsubscribe(a);
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "after", at: 6 });
    assert.equal(a.messages().length, 2, "an unsubscribed client gets nothing more");
    assert.equal(feed.clientCount, 0);
  });

  it("refuses clients beyond the cap", () => {
    const feed = new ConsoleFeed({ maxClients: 2 });
    assert.equal(feed.subscribe(new Recorder()), true);
    assert.equal(feed.subscribe(new Recorder()), true);
    assert.equal(feed.subscribe(new Recorder()), false);
    assert.equal(feed.clientCount, 2);
    feed.closeAll();
    assert.equal(feed.clientCount, 0);
  });

  it("drops a client whose unsent bytes pass the limit, and keeps serving the others", () => {
    const feed = new ConsoleFeed({ maxClientBufferBytes: 1000 });
    const slow = new Recorder();
    const fast = new Recorder();
    feed.subscribe(slow);
    feed.subscribe(fast);
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "one", at: 1 });
    assert.equal(slow.closed, false);
    slow.pending = 1001;
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "two", at: 2 });
    assert.equal(slow.closed, true);
    assert.equal(feed.droppedClients, 1);
    assert.equal(feed.clientCount, 1);
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "three", at: 3 });
    assert.equal(slow.messages().length, 3, "nothing after the drop");
    assert.equal(fast.messages().length, 4);
    feed.closeAll();
  });

  it("lets a new client receive a snapshot larger than the limit, then holds it to the limit", () => {
    const feed = new ConsoleFeed({ maxClientBufferBytes: 1000 });
    for (let i = 0; i < 20; i++)
      feed.publish({ type: "transcript", callId: "big", role: "caller", text: "y".repeat(400), at: i });
    const client = new Recorder();
    client.pending = 9000; // the whole snapshot still queued
    assert.equal(feed.subscribe(client), true);
    assert.ok((client.frames[0]?.length ?? 0) > 8000, "snapshot larger than the limit");
    assert.equal(client.closed, false);
    client.pending = 500; // caught up
    feed.publish({ type: "turn", callId: "big", latencyMs: 1, at: 1 });
    assert.equal(client.closed, false);
    client.pending = 1500; // behind again: the plain limit applies now
    feed.publish({ type: "turn", callId: "big", latencyMs: 2, at: 2 });
    assert.equal(client.closed, true);
  });

  it("ignores what it cannot show and never throws into a call", () => {
    const feed = new ConsoleFeed();
    const client = new Recorder();
    feed.subscribe(client);
    feed.publish({ type: "nonsense", callId: "c1", at: 1 } as unknown as ConsoleEvent);
    feed.publish(null as unknown as ConsoleEvent);
    feed.publish({
      type: "transcript",
      callId: 42,
      role: "robot",
      text: undefined,
      at: Number.NaN,
    } as unknown as ConsoleEvent);
    const msgs = client.messages();
    assert.equal(msgs.length, 2, "snapshot and the one showable event");
    const line = msgs[1];
    assert.ok(line?.type === "transcript");
    assert.equal(line.callId, "42");
    assert.equal(line.role, "caller");
    assert.ok(Number.isFinite(line.at));
    feed.closeAll();
  });

  it("drops a client whose write throws", () => {
    const feed = new ConsoleFeed();
    let closed = false;
    const broken: ConsoleClient = {
      write: (f) => {
        if (f.includes("transcript")) throw new Error("socket gone");
        return 0;
      },
      close: () => {
        closed = true;
      },
    };
    feed.subscribe(broken);
    feed.publish({ type: "transcript", callId: "c1", role: "caller", text: "x", at: 1 });
    assert.equal(closed, true);
    assert.equal(feed.clientCount, 0);
  });
});
