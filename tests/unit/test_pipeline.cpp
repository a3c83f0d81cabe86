#include <catch2/catch.hpp>

#include "matrx/orm/pg/pipeline.hpp"

using matrx::orm::pg::PipelineEvent;
using Queue = matrx::orm::pg::PipelineQueue<int>;

TEST_CASE("results go to the query at the head, in order", "[pipeline]") {
  Queue q;
  q.push(1);
  q.push(2);
  q.push(3);
  CHECK(q.on_event(PipelineEvent::result)->item == 1);
  CHECK(q.on_event(PipelineEvent::end_of_query)->item == 1);
  auto* done = q.on_event(PipelineEvent::sync);
  CHECK(done->item == 1);
  CHECK(q.size() == 2);
  // A failing query: error result, end, sync — the next query is unaffected.
  CHECK(q.on_event(PipelineEvent::result)->item == 2);
  q.on_event(PipelineEvent::end_of_query);
  CHECK(q.on_event(PipelineEvent::sync)->item == 2);
  // A command with no result rows still ends and syncs.
  CHECK(q.on_event(PipelineEvent::end_of_query)->item == 3);
  CHECK(q.on_event(PipelineEvent::sync)->item == 3);
  CHECK(q.empty());
}

TEST_CASE("protocol violations are detected", "[pipeline]") {
  Queue q;
  CHECK_THROWS_AS(q.on_event(PipelineEvent::result), std::logic_error);
  q.push(1);
  CHECK_THROWS_AS(q.on_event(PipelineEvent::sync), std::logic_error);  // sync before end of query
  q.on_event(PipelineEvent::end_of_query);
  CHECK_THROWS_AS(q.on_event(PipelineEvent::end_of_query), std::logic_error);
  CHECK_THROWS_AS(q.on_event(PipelineEvent::result), std::logic_error);
}

TEST_CASE("abandoned queries are cancellable only when nothing is queued behind them", "[pipeline]") {
  Queue q;
  q.push(1);
  q.push(2);
  CHECK_FALSE(q.abandon_if([](int i) { return i == 3; }));
  CHECK(q.abandon_if([](int i) { return i == 1; }));
  CHECK_FALSE(q.head_cancellable());  // query 2 would be hit by a late cancel
  q.on_event(PipelineEvent::end_of_query);
  auto* done = q.on_event(PipelineEvent::sync);
  CHECK(done->abandoned);
  CHECK(q.abandon_if([](int i) { return i == 2; }));
  CHECK(q.head_cancellable());
  q.head().cancel_requested = true;
  CHECK_FALSE(q.head_cancellable());
  CHECK(q.any_cancel_requested());
  auto all = q.take_all();
  CHECK(all.size() == 1);
  CHECK(q.empty());
}

TEST_CASE("an entry with a Parse ahead of its execution ends after both queries", "[pipeline]") {
  Queue q;
  q.push(1, 2);
  q.push(2);
  CHECK_THROWS_AS(Queue().push(3, 0), std::logic_error);
  CHECK(q.on_event(PipelineEvent::result)->queries_left == 2);  // the Parse's answer
  auto* e = q.on_event(PipelineEvent::end_of_query);
  CHECK(e->queries_left == 1);
  CHECK_FALSE(e->ended);
  CHECK_THROWS_AS(q.on_event(PipelineEvent::sync), std::logic_error);  // the execution is still due
  CHECK(q.on_event(PipelineEvent::result)->item == 1);
  CHECK(q.on_event(PipelineEvent::end_of_query)->ended);
  CHECK(q.on_event(PipelineEvent::sync)->item == 1);
  CHECK(q.head().item == 2);
}
