package dev.tandem.adapters.openai;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UpstreamMetricsTest {

    @Test
    void vllmGaugesAreSummedOverRanksAndUsageAveraged() {
        var r = UpstreamMetrics.parse("""
                # HELP vllm:num_requests_running Number of requests in model execution batches.
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{engine="0",model_name="m"} 3.0
                vllm:num_requests_running{engine="1",model_name="m"} 2.0
                vllm:num_requests_waiting{engine="0",model_name="m"} 7.0
                vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5
                vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.25
                vllm:prompt_tokens_total{model_name="m"} 12345.0
                """);
        assertThat(r.known()).isTrue();
        assertThat(r.running()).isEqualTo(5.0);
        assertThat(r.waiting()).isEqualTo(7.0);
        assertThat(r.cacheUsage()).isEqualTo(0.375);
    }

    @Test
    void vllmPrefixCacheAndPreemptionCountersAreSummedOverRanks() {
        var r = UpstreamMetrics.parse("""
                # TYPE vllm:prefix_cache_queries_total counter
                vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
                vllm:prefix_cache_queries_total{engine="1",model_name="m"} 500.0
                vllm:prefix_cache_hits_total{engine="0",model_name="m"} 640.0
                vllm:num_preemptions_total{engine="0",model_name="m"} 3.0
                vllm:num_requests_running{engine="0",model_name="m"} 1.0
                """);
        assertThat(r.prefixQueries()).isEqualTo(1500.0);
        assertThat(r.prefixHits()).isEqualTo(640.0);
        assertThat(r.preemptions()).isEqualTo(3.0);
    }

    @Test
    void sglangGaugesAreReadToo() {
        var r = UpstreamMetrics.parse("""
                sglang:num_running_reqs{model_name="m"} 4
                sglang:num_queue_reqs{model_name="m"} 1
                sglang:token_usage{model_name="m"} 0.8
                """);
        assertThat(r.running()).isEqualTo(4.0);
        assertThat(r.waiting()).isEqualTo(1.0);
        assertThat(r.cacheUsage()).isEqualTo(0.8);
    }

    @Test
    void anUpstreamWithoutTheseMetricsIsUnknown() {
        assertThat(UpstreamMetrics.parse("process_cpu_seconds_total 12.5\n").known())
                .isFalse();
    }
}
