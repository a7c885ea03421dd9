package dev.tandem.discovery.memory;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import dev.tandem.api.discovery.WatchListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Discovery in one JVM: the embedded default. Leases live until revoked (there is no process to crash without
 * taking the map with it). Writes and watch registration happen under one lock, so a watcher sees the snapshot and
 * then every later change exactly once; deliveries run on one virtual thread per watch.
 */
public final class InMemoryDiscovery implements Discovery {

    private record Entry(byte[] value, long revision, long leaseId) {}

    private final ReentrantLock lock = new ReentrantLock();
    private final TreeMap<String, Entry> entries = new TreeMap<>();
    private final Map<Long, Set<String>> keysByLease = new ConcurrentHashMap<>();
    private final List<MemoryWatch> watches = new CopyOnWriteArrayList<>();
    private final AtomicLong leaseIds = new AtomicLong();
    private long revision;

    @Override
    public Lease grantLease(Duration ttl) {
        long id = leaseIds.incrementAndGet();
        keysByLease.put(id, ConcurrentHashMap.newKeySet());
        return new MemoryLease(id);
    }

    @Override
    public void put(String key, byte[] value, Lease lease) {
        lock.lock();
        try {
            write(key, value, lease);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean putIfAbsent(String key, byte[] value, Lease lease) {
        lock.lock();
        try {
            if (entries.containsKey(key)) {
                return false;
            }
            write(key, value, lease);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void write(String key, byte[] value, Lease lease) {
        long leaseId = 0;
        if (lease != null) {
            leaseId = lease.id();
            Set<String> keys = keysByLease.get(leaseId);
            if (keys == null) {
                throw new IllegalStateException("lease " + leaseId + " is not alive");
            }
            keys.add(key);
        }
        Entry e = new Entry(value.clone(), ++revision, leaseId);
        entries.put(key, e);
        notify(new WatchEvent.Put(new KeyValue(key, e.value().clone(), e.revision())));
    }

    @Override
    public void delete(String key) {
        lock.lock();
        try {
            remove(key);
        } finally {
            lock.unlock();
        }
    }

    private void remove(String key) {
        if (entries.remove(key) != null) {
            notify(new WatchEvent.Delete(key, ++revision));
        }
    }

    @Override
    public List<KeyValue> list(String prefix) {
        lock.lock();
        try {
            List<KeyValue> out = new ArrayList<>();
            for (var e : entries.tailMap(prefix, true).entrySet()) {
                if (!e.getKey().startsWith(prefix)) {
                    break;
                }
                out.add(new KeyValue(
                        e.getKey(), e.getValue().value().clone(), e.getValue().revision()));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Watch watch(String prefix, WatchListener listener) {
        lock.lock();
        try {
            MemoryWatch w = new MemoryWatch(prefix, listener);
            for (KeyValue kv : list(prefix)) {
                w.queue.offer(new WatchEvent.Put(kv));
            }
            watches.add(w);
            return w;
        } finally {
            lock.unlock();
        }
    }

    private void notify(WatchEvent event) {
        String key = switch (event) {
            case WatchEvent.Put p -> p.kv().key();
            case WatchEvent.Delete d -> d.key();
        };
        for (MemoryWatch w : watches) {
            if (key.startsWith(w.prefix)) {
                w.queue.offer(event);
            }
        }
    }

    @Override
    public void close() {
        watches.forEach(MemoryWatch::close);
        watches.clear();
    }

    private final class MemoryLease implements Lease {
        private final long id;

        MemoryLease(long id) {
            this.id = id;
        }

        @Override
        public long id() {
            return id;
        }

        @Override
        public boolean isAlive() {
            return keysByLease.containsKey(id);
        }

        @Override
        public void revoke() {
            lock.lock();
            try {
                Set<String> keys = keysByLease.remove(id);
                if (keys != null) {
                    for (String key : keys) {
                        // Only keys still bound to this lease: one rewritten since (without a lease or under
                        // another one), or deleted and recreated, no longer belongs to it (etcd semantics).
                        Entry e = entries.get(key);
                        if (e != null && e.leaseId() == id) {
                            remove(key);
                        }
                    }
                }
            } finally {
                lock.unlock();
            }
        }
    }

    private final class MemoryWatch implements Watch {
        final String prefix;
        final SerialQueue<WatchEvent> queue;

        MemoryWatch(String prefix, WatchListener listener) {
            this.prefix = prefix;
            // Discovery changes are rare and must never be dropped: the bound is far above any real key count.
            this.queue = new SerialQueue<>("discovery-watch", 1 << 20, listener::onEvent);
        }

        @Override
        public void close() {
            watches.remove(this);
            queue.close();
        }
    }
}
