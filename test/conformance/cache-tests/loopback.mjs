// Preloaded into the suite's origin server (node --import): its
// server.listen(port) would bind every interface; this binds it to
// 127.0.0.1 only, as test/conformance scripts must.
import net from 'node:net'

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (args.length >= 1 && /^\d+$/.test(String(args[0])) && typeof args[1] !== 'string') {
    args = [Number(args[0]), '127.0.0.1', ...args.slice(1)]
  }
  return listen.apply(this, args)
}
