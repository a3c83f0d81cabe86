// PipelineQueue: which in-flight query a libpq result belongs to, on a connection in
// pipeline mode where every query is followed by its own Sync. Sans-I/O: the connection
// feeds it the events it reads, tests feed it made-up ones.
//
// Per query libpq yields: zero or more results, a NULL (end of query), then a
// PGRES_PIPELINE_SYNC result for its Sync. One Sync per query means a failing query
// aborts nothing but itself. An entry may hold several protocol queries under its one
// Sync (a Parse followed by the execution of the statement it prepares).
#pragma once

#include <cstddef>
#include <deque>
#include <stdexcept>
#include <utility>

namespace matrx::orm::pg {

enum class PipelineEvent { result, end_of_query, sync };

template <class Item>
class PipelineQueue {
 public:
  struct Entry {
    Item item;
    bool abandoned = false;        // the waiter is gone: drop whatever arrives
    bool cancel_requested = false;  // a cancel request was sent for this query
    bool ended = false;            // every query's NULL seen, waiting for the Sync
    int queries_left = 1;          // protocol queries whose NULL has not arrived yet
  };

  /// `queries` protocol queries and one Sync were handed to libpq.
  void push(Item item, int queries = 1) {
    if (queries < 1) throw std::logic_error("pipeline: an entry needs at least one query");
    entries_.push_back(Entry{std::move(item)});
    entries_.back().queries_left = queries;
  }

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  Entry& head() { return entries_.front(); }
  const Entry& head() const { return entries_.front(); }

  /// Marks the entry whose item satisfies `pred` as abandoned; false if none.
  template <class Pred>
  bool abandon_if(Pred pred) {
    for (auto& e : entries_)
      if (!e.abandoned && pred(e.item)) { e.abandoned = true; return true; }
    return false;
  }

  /// The head is abandoned and nothing is queued behind it: cancelling it on the server
  /// cannot hit another waiter's query.
  bool head_cancellable() const noexcept {
    return entries_.size() == 1 && entries_.front().abandoned && !entries_.front().cancel_requested;
  }
  bool any_cancel_requested() const noexcept {
    for (const auto& e : entries_)
      if (e.cancel_requested) return true;
    return false;
  }

  /// Feeds one event. For `result` returns the head entry the result belongs to; for
  /// `sync` removes and returns the completed head. Throws std::logic_error on an event
  /// that the protocol does not allow (the connection must then be discarded).
  Entry* on_event(PipelineEvent event) {
    if (entries_.empty()) throw std::logic_error("pipeline: event with no query in flight");
    Entry& h = entries_.front();
    switch (event) {
      case PipelineEvent::result:
        if (h.ended) throw std::logic_error("pipeline: result after end of query");
        return &h;
      case PipelineEvent::end_of_query:
        if (h.ended) throw std::logic_error("pipeline: second end of query");
        h.ended = --h.queries_left == 0;
        return &h;
      case PipelineEvent::sync:
        if (!h.ended) throw std::logic_error("pipeline: sync before end of query");
        completed_ = std::move(h);
        entries_.pop_front();
        return &completed_;
    }
    return nullptr;
  }

  /// Removes every entry (connection lost), returning them.
  std::deque<Entry> take_all() { return std::exchange(entries_, {}); }

 private:
  std::deque<Entry> entries_;
  Entry completed_{};
};

}  // namespace matrx::orm::pg
