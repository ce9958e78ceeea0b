// llama.cpp's (ggml's) CPU mat-vec timed on qtool's kernel-bench shapes, so that
// `qtool bench kernels` has the reference the kernels issue names beside its own numbers.
// Our code, linked against the ggml that the llama-cpp-python package built (see ggml_matvec.sh).
//
// For each shape NxK and type (q4_0, q8_0, f16): R copies of the weight W[n, k] (together at
// least 256 MiB, so that every mat-vec reads W from memory, not cache) quantized by ggml from
// the same seeded normal values; one graph of R mul_mat nodes y_r = W_r x (x[k] f32, m = 1,
// ggml quantizes x to the type's vec-dot type itself, as in decode); the graph is computed with
// the given thread count, `reps` times; the time per mat-vec is the median graph time / R.
// q4_0 runs twice: in plain CPU buffers (as `test-backend-ops perf`), and in ggml's repacking
// buffer type (CPU_REPACK: rows interleaved at load for its AVX2/AVX-512 kernels, what
// llama.cpp's own decode uses) through the CPU backend. Output: one JSON object per line
// ("buffer": "CPU" or the repacking buffer type's name).
//
// Usage: matvec THREADS REPS SHAPE... (SHAPE = NxK)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float normal(void) {
    // Box-Muller on xorshift64*
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        u[i] = ((rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (float)(sqrt(-2.0 * log(u[0] + 1e-300)) * cos(6.283185307179586 * u[1]));
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Sorts the `reps` per-mat-vec times `t` and prints the JSON line.
static void print_row(int64_t n, int64_t k, enum ggml_type type, const char *buffer, int threads, int copies, int reps,
                      size_t w_bytes, double *t) {
    qsort(t, reps, sizeof(double), cmp);
    double med = t[reps / 2];
    printf("{\"n\": %lld, \"k\": %lld, \"m\": 1, \"type\": \"%s\", \"buffer\": \"%s\", \"threads\": %d, \"copies\": %d, "
           "\"reps\": %d, \"weight_bytes\": %zu, \"median_ms\": %.6f, \"min_ms\": %.6f, \"gb_per_s\": %.3f}\n",
           (long long)n, (long long)k, ggml_type_name(type), buffer, threads, copies, reps, w_bytes, med * 1e3,
           t[0] * 1e3, w_bytes / med / 1e9);
    fflush(stdout);
}

// The CPU device's extra buffer type named `name` (ggml's repacking one: "CPU_REPACK"), or NULL.
static ggml_backend_buffer_type_t extra_buft(const char *name) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return NULL;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_dev_get_extra_bufts_t get =
        (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    if (!get) return NULL;
    for (ggml_backend_buffer_type_t *b = get(dev); b && *b; b++) {
        if (strcmp(ggml_backend_buft_name(*b), name) == 0) return *b;
    }
    return NULL;
}

// As `run`, with the weights in the buffer type `buft` (their data set through it, so that it
// repacks them), x and the outputs in CPU buffers, and the graph computed by the CPU backend.
static void run_buft(int threads, int reps, int64_t n, int64_t k, enum ggml_type type, ggml_backend_buffer_type_t buft) {
    const size_t w_bytes = ggml_row_size(type, k) * n;
    int copies = (int)((256u << 20) / w_bytes) + 1;
    if (copies < 2) copies = 2;
    // Weights in `buft`, x in a plain CPU buffer (a repacking buffer takes only weights), the
    // graph's nodes allocated by gallocr in CPU memory.
    struct ggml_init_params pw = {ggml_tensor_overhead() * copies, NULL, true};
    struct ggml_context *cw = ggml_init(pw);
    struct ggml_tensor **ws = malloc(sizeof(*ws) * copies);
    for (int r = 0; r < copies; r++) ws[r] = ggml_new_tensor_2d(cw, type, k, n);
    struct ggml_init_params px = {ggml_tensor_overhead(), NULL, true};
    struct ggml_context *cx = ggml_init(px);
    struct ggml_tensor *xin = ggml_new_tensor_2d(cx, GGML_TYPE_F32, k, 1);
    size_t gmem = ggml_tensor_overhead() * 4 * copies + ggml_graph_overhead_custom(4 * copies, false);
    struct ggml_init_params pg = {gmem, NULL, true};
    struct ggml_context *cg = ggml_init(pg);
    ggml_backend_buffer_t bw = ggml_backend_alloc_ctx_tensors_from_buft(cw, buft);
    ggml_backend_buffer_t bx = ggml_backend_alloc_ctx_tensors_from_buft(cx, ggml_backend_cpu_buffer_type());
    if (!bx || !bw) {
        fprintf(stderr, "allocating %s buffers failed\n", ggml_backend_buft_name(buft));
        exit(1);
    }
    float *src = malloc(sizeof(float) * n * k);
    for (int64_t i = 0; i < n * k; i++) src[i] = normal() * 0.02f;
    void *q = malloc(w_bytes);
    ggml_quantize_chunk(type, src, q, 0, n, k, NULL);
    for (int r = 0; r < copies; r++) ggml_backend_tensor_set(ws[r], q, 0, w_bytes);
    free(q);
    free(src);
    float *xv = malloc(sizeof(float) * k);
    for (int64_t i = 0; i < k; i++) xv[i] = normal();
    ggml_backend_tensor_set(xin, xv, 0, sizeof(float) * k);
    free(xv);
    struct ggml_cgraph *gf = ggml_new_graph_custom(cg, 4 * copies, false);
    for (int r = 0; r < copies; r++) ggml_build_forward_expand(gf, ggml_mul_mat(cg, ws[r], xin));
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    if (!ggml_gallocr_alloc_graph(galloc, gf)) {
        fprintf(stderr, "allocating the graph failed\n");
        exit(1);
    }
    ggml_backend_t be = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(be, threads);
    ggml_backend_graph_compute(be, gf); // warm-up
    double *t = malloc(sizeof(double) * reps);
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        ggml_backend_graph_compute(be, gf);
        t[i] = (now_s() - t0) / copies;
    }
    print_row(n, k, type, ggml_backend_buft_name(buft), threads, copies, reps, w_bytes, t);
    free(t);
    free(ws);
    ggml_backend_free(be);
    ggml_gallocr_free(galloc);
    ggml_backend_buffer_free(bw);
    ggml_backend_buffer_free(bx);
    ggml_free(cg);
    ggml_free(cx);
    ggml_free(cw);
}

static void run(int threads, int reps, int64_t n, int64_t k, enum ggml_type type) {
    const size_t w_bytes = ggml_row_size(type, k) * n;
    int copies = (int)((256u << 20) / w_bytes) + 1;
    if (copies < 2) copies = 2;
    size_t mem = (size_t)copies * (w_bytes + ggml_tensor_overhead() * 3 + (size_t)n * 4 + 256) +
                 (size_t)k * 4 + ggml_graph_overhead_custom(4 * copies, false) + (16u << 20);
    struct ggml_init_params p = {mem, NULL, false};
    struct ggml_context *ctx = ggml_init(p);
    if (!ctx) {
        fprintf(stderr, "ggml_init of %zu bytes failed\n", mem);
        exit(1);
    }
    float *src = malloc(sizeof(float) * n * k);
    for (int64_t i = 0; i < n * k; i++) src[i] = normal() * 0.02f;
    struct ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, 1);
    for (int64_t i = 0; i < k; i++) ((float *)x->data)[i] = normal();
    struct ggml_cgraph *gf = ggml_new_graph_custom(ctx, 4 * copies, false);
    for (int r = 0; r < copies; r++) {
        struct ggml_tensor *w = ggml_new_tensor_2d(ctx, type, k, n);
        if (type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(src, (ggml_fp16_t *)w->data, n * k);
        } else {
            ggml_quantize_chunk(type, src, w->data, 0, n, k, NULL);
        }
        ggml_build_forward_expand(gf, ggml_mul_mat(ctx, w, x));
    }
    free(src);
    ggml_graph_compute_with_ctx(ctx, gf, threads); // warm-up
    double *t = malloc(sizeof(double) * reps);
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        ggml_graph_compute_with_ctx(ctx, gf, threads);
        t[i] = (now_s() - t0) / copies;
    }
    print_row(n, k, type, "CPU", threads, copies, reps, w_bytes, t);
    free(t);
    ggml_free(ctx);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s THREADS REPS NxK...\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]), reps = atoi(argv[2]);
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "THREADS and REPS must be positive\n");
        return 2;
    }
    enum ggml_type types[] = {GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, GGML_TYPE_F16};
    for (int a = 3; a < argc; a++) {
        long long n, k;
        if (sscanf(argv[a], "%lldx%lld", &n, &k) != 2 || n < 1 || k < 32 || k % 32) {
            fprintf(stderr, "bad shape '%s': want NxK with K a multiple of 32\n", argv[a]);
            return 2;
        }
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) run(threads, reps, n, k, types[i]);
        ggml_backend_buffer_type_t repack = extra_buft("CPU_REPACK");
        if (repack) {
            run_buft(threads, reps, n, k, GGML_TYPE_Q4_0, repack);
        } else {
            fprintf(stderr, "note: this ggml has no CPU_REPACK buffer type; q4_0 runs in plain buffers only\n");
        }
    }
    return 0;
}
