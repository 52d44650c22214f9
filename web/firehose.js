// firehose.js: a dependency-free browser client for firehose-swift (and any Firehose 1.x server
// for the WebSocket and long-poll transports). Served by the server at /firehose.js@firehose.
//
//   import { FirehoseClient } from '/firehose.js@firehose';
//   const client = new FirehoseClient({
//     url: 'http://127.0.0.1:7474',              // the server; default: this page's origin
//     channel: '/hello',                         // or channels: ['/a', '/b'] (or {'/a': 7, '/b': 0})
//     transports: ['sse', 'websocket', 'longpoll'],
//     params: { access_token: '...' },           // sent as query parameters on every request
//     onMessage(message, sequence, channel, transport) { ... },
//     onState(state, info) { ... },              // connecting, connected, reconnecting, closed
//   });
//   client.connect();  ...  client.close();
//
// Guarantees: every message is handed to onMessage at most once and, per channel, in sequence
// order. The client remembers the last sequence of each channel and every new connection (a
// reconnect or a switch of transport) resumes from it, so nothing the server still buffers is
// lost; anything at or below the remembered sequence is dropped.

const DEFAULT_TRANSPORTS = ['sse', 'websocket', 'longpoll'];

/** Connection states reported through onState. */
export const State = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
});

export class FirehoseClient {
  /**
   * @param {object} options
   * @param {string} [options.url] base URL of the server (http, https, or relative to the page)
   * @param {string} [options.channel] one channel, e.g. '/hello'
   * @param {string[]|Object<string,number>} [options.channels] several channels, or channel -> the
   *   sequence already seen (to resume where a previous page left off)
   * @param {number} [options.lastSequence] with `channel`: the sequence already seen (default 0:
   *   start with the newest buffered message, as every Firehose client does)
   * @param {Array<string|{type:string,url?:string}>} [options.transports] the order to try them in;
   *   an entry may be an object to give that transport its own server URL
   * @param {Object<string,string>} [options.params] extra query parameters (access_token, ...)
   * @param {Function} [options.onMessage] (message, sequence, channel, transport)
   * @param {Function} [options.onState] (state, info)
   * @param {number} [options.connectTimeoutMs] a transport that is not open after this long has
   *   failed to connect and the next one is tried (default 5000)
   * @param {number} [options.initialRetryMs] first reconnect delay (default 500), doubled after
   *   every failed attempt, up to maxRetryMs (default 30000), each randomised down to half
   * @param {number} [options.pingIntervalMs] WebSocket keepalive: {"ping":"PING"} this often; no
   *   frame at all for two intervals means the connection is dead (default 20000)
   * @param {number} [options.longPollTimeoutMs] a long-poll not answered within this long is given
   *   up and re-sent; keep it above the server's long-poll timeout (default 60000)
   */
  constructor(options = {}) {
    const names = options.channels ?? (options.channel !== undefined ? [options.channel] : []);
    /** @type {Map<string, number>} channel -> last sequence delivered (0: nothing yet). */
    this.sequences = new Map();
    if (Array.isArray(names)) {
      for (const name of names) this.sequences.set(String(name), 0);
      if (options.channel !== undefined && options.lastSequence) {
        this.sequences.set(String(options.channel), Number(options.lastSequence));
      }
    } else {
      for (const [name, seq] of Object.entries(names)) this.sequences.set(name, Number(seq) || 0);
    }
    if (this.sequences.size === 0) throw new Error('FirehoseClient: give a channel or channels');
    for (const name of this.sequences.keys()) {
      if (!name.startsWith('/')) throw new Error(`FirehoseClient: channel ${name} must start with /`);
    }
    this.baseURL = options.url ?? '';  // '' means this page's origin
    this.transports = (options.transports ?? DEFAULT_TRANSPORTS).map((entry) =>
      typeof entry === 'string' ? { type: entry } : { ...entry });
    for (const t of this.transports) {
      if (!TRANSPORTS[t.type]) throw new Error(`FirehoseClient: unknown transport ${t.type}`);
    }
    if (this.transports.length === 0) throw new Error('FirehoseClient: no transport to use');
    this.params = { ...(options.params ?? {}) };
    this.onMessage = options.onMessage ?? (() => {});
    this.onState = options.onState ?? (() => {});
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.initialRetryMs = options.initialRetryMs ?? 500;
    this.maxRetryMs = options.maxRetryMs ?? 30000;
    this.pingIntervalMs = options.pingIntervalMs ?? 20000;
    this.longPollTimeoutMs = options.longPollTimeoutMs ?? 60000;

    this.state = State.CLOSED;
    /** Name of the transport in use, or null. */
    this.transport = null;
    /** URL of the latest connection or request (with its params and sequences), for debugging. */
    this.connectionURL = null;
    this._index = 0;          // position in this.transports of the one in use or being tried
    this._failures = 0;       // consecutive attempts that ended without proving the connection
    this._current = null;     // the live transport object
    this._retryTimer = null;
    this._generation = 0;     // bumped on every attempt: callbacks of older attempts are ignored
  }

  /** True when several channels share one connection (the multiplexed endpoints). */
  get multiplexed() {
    return this.sequences.size > 1;
  }

  /** The last sequence delivered on a channel (0 when nothing has been). */
  lastSequence(channel) {
    return this.sequences.get(channel) ?? 0;
  }

  connect() {
    if (this.state !== State.CLOSED) return this;
    this._failures = 0;
    this._index = 0;
    this._attempt();
    return this;
  }

  close() {
    this._generation++;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._stopCurrent();
    this.transport = null;
    this._setState(State.CLOSED, {});
    return this;
  }

  // --- connection life cycle ---

  _attempt() {
    const generation = ++this._generation;
    const spec = this.transports[this._index];
    this.transport = spec.type;
    this._setState(State.CONNECTING, { transport: spec.type });
    const hooks = {
      opened: () => generation === this._generation && this._opened(),
      message: (channel, message, sequence) =>
        generation === this._generation && this._deliver(channel, message, sequence),
      // `connected: false` says the transport never reached the server even if it looked open.
      failed: (reason, { connected } = {}) =>
        generation === this._generation && this._failed(reason, connected),
    };
    const live = { opened: false, delivered: false, openedAt: 0 };
    this._live = live;
    try {
      this._current = new TRANSPORTS[spec.type](this, spec, hooks);
    } catch (error) {
      // A constructor that throws (a blocked URL, no WebSocket support) is a failed connection.
      this._current = null;
      queueMicrotask(() => hooks.failed(String(error)));
      return;
    }
    this._connectTimer = setTimeout(() => {
      if (generation === this._generation && !live.opened) hooks.failed('connect timeout');
    }, this.connectTimeoutMs);
  }

  _opened() {
    const live = this._live;
    if (live.opened) return;
    live.opened = true;
    live.openedAt = Date.now();
    clearTimeout(this._connectTimer);
    this._setState(State.CONNECTED, { transport: this.transport });
  }

  _failed(reason, connected = undefined) {
    const live = this._live;
    if (connected === false) live.opened = false;
    this._generation++;
    clearTimeout(this._connectTimer);
    this._stopCurrent();
    const failedTransport = this.transport;
    let delay;
    if (live.opened) {
      // The transport works: come back on the same one. A connection that proved itself (it
      // delivered something or stayed up a while) starts the backoff over; one that keeps
      // dropping right after opening backs off like any failure.
      if (live.delivered || Date.now() - live.openedAt > 10000) this._failures = 0;
      else this._failures++;
      delay = this._backoff();
    } else {
      // Never opened: fall back to the next transport at once; a full round of failures waits.
      this._index = (this._index + 1) % this.transports.length;
      if (this._index === 0) {
        this._failures++;
        delay = this._backoff();
      } else {
        delay = 0;
      }
    }
    this._setState(State.RECONNECTING, {
      transport: failedTransport,
      next: this.transports[this._index].type,
      reason,
      delayMs: delay,
    });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._attempt();
    }, delay);
  }

  /** Exponential backoff with jitter: a random delay between half and all of the current step. */
  _backoff() {
    const step = Math.min(this.maxRetryMs, this.initialRetryMs * 2 ** Math.max(0, this._failures - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  _stopCurrent() {
    const current = this._current;
    this._current = null;
    if (current) {
      try {
        current.stop();
      } catch (_) {
        // Stopping is best effort: the connection may already be gone.
      }
    }
  }

  _deliver(channel, message, sequence) {
    if (!this.sequences.has(channel)) return; // not ours (a server echoing something else)
    const seq = Number(sequence);
    if (!Number.isFinite(seq)) return;
    this._live.delivered = true;
    if (seq <= this.sequences.get(channel)) return; // already delivered: a duplicate
    this.sequences.set(channel, seq);
    try {
      this.onMessage(message, seq, channel, this.transport);
    } catch (error) {
      // The application's bug must not break the connection or lose the sequence.
      setTimeout(() => { throw error; });
    }
  }

  _setState(state, info) {
    if (this.state === state && state !== State.RECONNECTING) return;
    this.state = state;
    try {
      this.onState(state, info);
    } catch (error) {
      setTimeout(() => { throw error; });
    }
  }

  // --- URLs ---

  /** The server URL for a transport: its own when it gives one, else the client's. */
  _base(spec) {
    const url = spec.url ?? this.baseURL;
    // Not the page's own path: a page at /demo@firehose talks to the server's root.
    return new URL(url === '' ? '/' : url, globalThis.location?.href ?? 'http://localhost/');
  }

  /** `/a!7,/b!3`: the multiplexed `subscribe` list, resuming each channel where it stands. */
  _subscribeList() {
    return [...this.sequences].map(([channel, seq]) => `${channel}!${seq}`).join(',');
  }

  /** The URL of one request: the channel path (or channels@firehose), the user's params, then ours. */
  _url(spec, { scheme, sequenceParam }) {
    const base = this._base(spec);
    const path = this.multiplexed ? '/channels@firehose' : [...this.sequences.keys()][0];
    // Channel names are paths as the server sees them (no decoding there), so join textually.
    const url = new URL(base.origin + base.pathname.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(this.params)) url.searchParams.append(key, value);
    if (this.multiplexed) {
      url.searchParams.set('subscribe', this._subscribeList());
    } else if (sequenceParam) {
      url.searchParams.set(sequenceParam, String([...this.sequences.values()][0]));
    }
    if (scheme === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.connectionURL = url.toString();
    return this.connectionURL;
  }
}

// --- transports: each calls hooks.opened() once it is connected, hooks.message(...) for each
// message, hooks.failed(reason) once when the connection is over; stop() ends it silently. ---

/** Server-Sent Events (an extension of firehose-swift): one EventSource per connection. */
class SSETransport {
  constructor(client, spec, hooks) {
    const url = client._url(spec, { scheme: 'http', sequenceParam: 'last_message_sequence' });
    this.source = new EventSource(url);
    this.source.onopen = () => hooks.opened();
    this.source.onmessage = (event) => {
      if (client.multiplexed) {
        const frame = parseFrame(event.data);
        if (frame && typeof frame.channel === 'string') {
          hooks.message(frame.channel, frame.message, frame.last_sequence);
        }
      } else {
        // The body arrives as it is; the sequence is the event id.
        hooks.message([...client.sequences.keys()][0], event.data, event.lastEventId);
      }
    };
    // EventSource would reconnect by itself, but with its own fixed delay and only on the same
    // transport; the client does it instead, from its own record of what was delivered.
    this.source.onerror = () => hooks.failed('event stream error');
  }

  stop() {
    this.source.onopen = this.source.onmessage = this.source.onerror = null;
    this.source.close();
  }
}

/** WebSocket, as the original Firehose client speaks it. */
class WebSocketTransport {
  constructor(client, spec, hooks) {
    // The sequence goes in the first message, not the URL (the server ignores the query, WS-8).
    this.socket = new WebSocket(client._url(spec, { scheme: 'ws' }));
    this.silentPings = 0;
    this.socket.onopen = () => {
      if (client.multiplexed) {
        const entries = [...client.sequences].map(([channel, seq]) => ({ channel, message_sequence: seq }));
        this.socket.send(JSON.stringify({ multiplex_subscribe: entries }));
      } else {
        this.socket.send(JSON.stringify({ message_sequence: [...client.sequences.values()][0] }));
      }
      hooks.opened();
      // Keepalive: a connection that answers nothing for two ping intervals is dead, even if the
      // browser has not noticed yet (a sleeping laptop, a dropped NAT mapping).
      this.pinger = setInterval(() => {
        if (++this.silentPings > 1) {
          hooks.failed('no answer to ping');
          return;
        }
        this.socket.send(JSON.stringify({ ping: 'PING' }));
      }, client.pingIntervalMs);
    };
    this.socket.onmessage = (event) => {
      this.silentPings = 0;
      const frame = parseFrame(event.data);
      if (!frame || frame.pong !== undefined || frame.last_sequence === undefined) return;
      const channel = client.multiplexed ? frame.channel : [...client.sequences.keys()][0];
      hooks.message(channel, frame.message, frame.last_sequence);
    };
    this.socket.onclose = (event) => hooks.failed(`websocket closed (${event.code})`);
    this.socket.onerror = () => hooks.failed('websocket error');
  }

  stop() {
    clearInterval(this.pinger);
    this.socket.onopen = this.socket.onmessage = this.socket.onclose = this.socket.onerror = null;
    this.socket.close();
  }
}

/** Long-poll: one GET at a time, re-sent at once after every answer (200 or 204). */
class LongPollTransport {
  constructor(client, spec, hooks) {
    this.client = client;
    this.spec = spec;
    this.hooks = hooks;
    this.stopped = false;
    // Like the original client, a long-poll counts as connected as soon as it is under way (an
    // idle channel answers only after the server's long-poll timeout); a first request that
    // fails still makes the client fall back to the next transport.
    this.answered = false;
    queueMicrotask(() => !this.stopped && hooks.opened());
    this.poll();
  }

  async poll() {
    const { client, spec, hooks } = this;
    while (!this.stopped) {
      this.abort = new AbortController();
      const timer = setTimeout(() => this.abort.abort(), client.longPollTimeoutMs);
      let response;
      let body;
      try {
        // The sequence travels in the query (a simple CORS request: no preflight, CORS-4).
        const url = client._url(spec, { scheme: 'http', sequenceParam: 'last_message_sequence' });
        response = await fetch(url, { signal: this.abort.signal, cache: 'no-store' });
        body = response.status === 200 ? await response.text() : '';
      } catch (error) {
        const reason = `long-poll: ${error.name === 'AbortError' ? 'timeout' : error.message}`;
        if (!this.stopped) hooks.failed(reason, { connected: this.answered });
        return;
      } finally {
        clearTimeout(timer);
      }
      if (this.stopped) return;
      if (response.status === 204) {
        this.answered = true;
        continue;
      } // the server's long-poll timeout: ask again
      if (response.status !== 200) {
        hooks.failed(`long-poll: HTTP ${response.status}`, { connected: this.answered });
        return;
      }
      this.answered = true;
      const frame = parseFrame(body);
      if (!frame || frame.last_sequence === undefined) {
        hooks.failed('long-poll: unreadable answer', { connected: this.answered });
        return;
      }
      const channel = client.multiplexed ? frame.channel : [...client.sequences.keys()][0];
      hooks.message(channel, frame.message, frame.last_sequence);
    }
  }

  stop() {
    this.stopped = true;
    this.abort?.abort();
  }
}

const TRANSPORTS = { sse: SSETransport, websocket: WebSocketTransport, longpoll: LongPollTransport };

function parseFrame(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value : null;
  } catch (_) {
    return null;
  }
}
