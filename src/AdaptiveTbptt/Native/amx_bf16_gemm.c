// Single-precision GEMM whose products run on Intel AMX tiles in bfloat16: C = α·op(A)·op(B) + β·C, row-major,
// with every element of op(A) and op(B) rounded to bfloat16 (round to nearest even, as PyTorch's float→bfloat16)
// and every sum accumulated in float32 — PyTorch's torch.set_float32_matmul_precision("medium") on a CPU with AMX.
//
// Built by src/AdaptiveTbptt/AdaptiveTbptt.csproj when a C compiler is present and loaded by AmxBlas.cs only after
// the CPU reports AMX-BF16 and tbptt_amx_init succeeds: nothing here runs on a CPU without AMX. The caller owns
// every buffer and splits the work into parts (rows or column blocks), so this file neither allocates nor
// starts threads.
//
// Tiles: every product uses the same configuration — eight 16 × 64-byte tiles. Tiles 0–3 accumulate a 32 × 32
// block of C, tiles 4–5 hold 32 rows × 32 depths of op(A), tiles 6–7 hold 32 depths × 32 columns of op(B).
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18
#define TILE_DEPTH 32 // bfloat16 elements of k per tile row (64 bytes)
#define TILE_ELEMENTS 512 // one packed tile of op(B): 16 rows of 32 bfloat16

// Linux hands out the 8 KB tile state only to a process that asks for it; 0 when granted.
int tbptt_amx_init(void)
{
    return (int)syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
}

typedef struct
{
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

// The configuration is per thread and survives context switches (it is part of the XSAVE state).
static __thread int configured;

static void configure(void)
{
    if (configured) return;
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
    _tile_loadconfig(&cfg);
    configured = 1;
}

// 16 floats (the first `count`, zeros after) → 16 bfloat16 by VCVTNEPS2BF16: round to nearest even, a NaN stays a
// (quiet) NaN, a subnormal becomes a zero of its sign (the tile unit reads bfloat16 subnormals as zero too).
static inline __m256i convert16(const float* src, int count)
{
    __m512 v = _mm512_maskz_loadu_ps((__mmask16)(count >= 16 ? 0xffff : count <= 0 ? 0 : (1u << count) - 1u), src);
    return (__m256i)_mm512_cvtneps_pbh(v);
}

static inline int round_up(int x, int to) { return (x + to - 1) / to * to; }

// Two runs of 16 bfloat16 interleaved element by element: (x0, y0, x1, y1, …) — 16 pairs, one per 32-bit lane.
static inline __m512i interleave(__m256i x, __m256i y)
{
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
        23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(order, _mm512_inserti64x4(_mm512_castsi256_si512(x), y, 1));
}

// A 16 × 16 matrix of 32-bit elements, one row per register, transposed in registers (four rounds of shuffles).
static inline void transpose16x16(__m512i m[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++)
    {
        t[2 * i] = _mm512_unpacklo_epi32(m[2 * i], m[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(m[2 * i], m[2 * i + 1]);
    }
    // u[4i + j], 128-bit lane L: column 4L + j of rows 4i … 4i + 3.
    for (int i = 0; i < 4; i++)
    {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++)
    {
        __m512i s = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44), s2 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xee);
        __m512i w = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44), w2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xee);
        m[j] = _mm512_shuffle_i32x4(s, w, 0x88);
        m[4 + j] = _mm512_shuffle_i32x4(s, w, 0xdd);
        m[8 + j] = _mm512_shuffle_i32x4(s2, w2, 0x88);
        m[12 + j] = _mm512_shuffle_i32x4(s2, w2, 0xdd);
    }
}

// Packs column blocks [nb0, nb1) (of 16 columns) of op(B) (k × n), where B is stored k × n (transB = 0) or n × k
// (transB = 1) with leading dimension ldb. Column block nb is a run of ceil(k/32) tiles; tile (nb, kb) row p holds,
// for each of its 16 columns j, the pair (op(B)[32kb + 2p][16nb + j], op(B)[32kb + 2p + 1][16nb + j]) — the pair
// layout TDPBF16PS reads. Depths ≥ k and columns ≥ n are zeros, so the buffer holds round_up(k, 32) · round_up(n, 32)
// elements (AmxBlas.PackedLength sizes it).
void tbptt_amx_pack_b(int transB, int k, int n, const float* b, int ldb, uint16_t* packed, int nb0, int nb1)
{
    int kb_count = round_up(k, TILE_DEPTH) / TILE_DEPTH;
    const __m256i zero = _mm256_setzero_si256();
    for (int nb = nb0; nb < nb1; nb++)
    {
        uint16_t* block = packed + (size_t)nb * kb_count * TILE_ELEMENTS;
        int col0 = nb * 16, cols = n - col0 < 0 ? 0 : n - col0 < 16 ? n - col0 : 16;
        if (!transB)
        {
            // Depth d is a row of B: two rows give one tile row of pairs.
            for (int d = 0; d < kb_count * TILE_DEPTH; d += 2)
            {
                __m256i x = d < k ? convert16(b + (size_t)d * ldb + col0, cols) : zero;
                __m256i y = d + 1 < k ? convert16(b + (size_t)(d + 1) * ldb + col0, cols) : zero;
                uint16_t* row = block + (size_t)(d / TILE_DEPTH) * TILE_ELEMENTS + (d % TILE_DEPTH) / 2 * 32;
                _mm512_storeu_si512(row, interleave(x, y));
            }
            continue;
        }
        // Column j is a row of B: its 32 depths of a tile are 16 pairs, one for each tile row — a 16 × 16
        // transpose of pairs.
        for (int kb = 0; kb < kb_count; kb++)
        {
            int d = kb * TILE_DEPTH, depth = k - d < TILE_DEPTH ? k - d : TILE_DEPTH;
            __m512i m[16];
            for (int j = 0; j < 16; j++)
            {
                const float* src = b + (size_t)(col0 + j) * ldb + d;
                __m256i lo = j < cols ? convert16(src, depth) : zero;
                __m256i hi = j < cols && depth > 16 ? convert16(src + 16, depth - 16) : zero;
                m[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            }
            transpose16x16(m);
            uint16_t* tile = block + (size_t)kb * TILE_ELEMENTS;
            for (int p = 0; p < 16; p++) _mm512_storeu_si512(tile + p * 32, m[p]);
        }
    }
}

// Rows [i, i + 32) of op(A) (rows ≥ m are zeros) as bfloat16 into panel, row r at panel + r·kp, depths k..kp zero.
static void convert_panel(int transA, int i, int m, int k, int kp, const float* a, int lda, uint16_t* panel)
{
    int rows = m - i < 32 ? m - i : 32;
    if (!transA)
    {
        if (rows < 32) memset(panel + (size_t)rows * kp, 0, (size_t)(32 - rows) * kp * sizeof(uint16_t));
        for (int r = 0; r < rows; r++)
        {
            const float* src = a + (size_t)(i + r) * lda;
            uint16_t* dst = panel + (size_t)r * kp;
            for (int d = 0; d < kp; d += 16)
                _mm256_storeu_si256((__m256i*)(dst + d), convert16(src + d, k - d < 0 ? 0 : k - d));
        }
        return;
    }
    // op(A) = Aᵀ with A stored k × m: depths d and d + 1 are rows of A, contiguous over the panel's rows; 16 such
    // pairs of rows, interleaved, are a 16 × 16 block of pairs whose transpose is 16 panel rows of 32 depths.
    const __m256i zero = _mm256_setzero_si256();
    for (int half = 0; half < 2; half++)
    {
        int count = rows - 16 * half;
        if (count <= 0)
        {
            memset(panel + (size_t)16 * half * kp, 0, (size_t)16 * kp * sizeof(uint16_t));
            continue;
        }
        for (int d0 = 0; d0 < kp; d0 += TILE_DEPTH)
        {
            __m512i m[16];
            for (int p = 0; p < 16; p++)
            {
                int d = d0 + 2 * p;
                const float* src = a + (size_t)d * lda + i + 16 * half;
                __m256i x = d < k ? convert16(src, count) : zero;
                __m256i y = d + 1 < k ? convert16(src + lda, count) : zero;
                m[p] = interleave(x, y);
            }
            transpose16x16(m);
            for (int r = 0; r < 16; r++) _mm512_storeu_si512(panel + (size_t)(16 * half + r) * kp + d0, m[r]);
        }
    }
}

// C[rows × cols] = α·T + β·C from the 32 × 32 tile block T (β = 0 overwrites: NaN in C does not propagate).
static void write_back(const float* t, int rows, int cols, float alpha, float beta, float* c, int ldc)
{
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j += 16)
        {
            __mmask16 mask = (__mmask16)(cols - j >= 16 ? 0xffff : (1u << (cols - j)) - 1u);
            __m512 v = _mm512_mul_ps(va, _mm512_loadu_ps(t + r * 32 + j));
            float* dst = c + (size_t)r * ldc + j;
            if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, dst), v);
            _mm512_mask_storeu_ps(dst, mask, v);
        }
}

// Rows [m0, m1) and columns [n0, n1) of C = α·op(A)·op(B) + β·C, op(B) (k × n) packed by tbptt_amx_pack_b.
// m0 is a multiple of 32 and n0 of 32 (n1 is one too, or n); panel is 64-byte aligned scratch of 32 ·
// round_up(k, 32) bfloat16 for this part alone.
void tbptt_amx_gemm(int transA, int m0, int m1, int k, float alpha, const float* a, int lda,
    const uint16_t* packed, int n0, int n1, float beta, float* c, int ldc, uint16_t* panel)
{
    configure();
    int kp = round_up(k, TILE_DEPTH), kb_count = kp / TILE_DEPTH;
    __attribute__((aligned(64))) float block[32 * 32];
    for (int i = m0; i < m1; i += 32)
    {
        convert_panel(transA, i, m1, k, kp, a, lda, panel);
        int rows = m1 - i < 32 ? m1 - i : 32;
        for (int j = n0; j < n1; j += 32)
        {
            const uint16_t* b0 = packed + (size_t)(j / 16) * kb_count * TILE_ELEMENTS;
            const uint16_t* b1 = b0 + (size_t)kb_count * TILE_ELEMENTS;
            _tile_zero(0);
            _tile_zero(1);
            if (rows > 16)
            {
                _tile_zero(2);
                _tile_zero(3);
                for (int kb = 0; kb < kb_count; kb++)
                {
                    _tile_loadd(4, panel + kb * TILE_DEPTH, kp * 2);
                    _tile_loadd(5, panel + (size_t)16 * kp + kb * TILE_DEPTH, kp * 2);
                    _tile_loadd(6, b0 + (size_t)kb * TILE_ELEMENTS, 64);
                    _tile_loadd(7, b1 + (size_t)kb * TILE_ELEMENTS, 64);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                _tile_stored(2, block + 16 * 32, 128);
                _tile_stored(3, block + 16 * 32 + 16, 128);
            }
            else
            {
                // A block of at most 16 rows (the last of m, or an evaluation lane): half the tile work.
                for (int kb = 0; kb < kb_count; kb++)
                {
                    _tile_loadd(4, panel + kb * TILE_DEPTH, kp * 2);
                    _tile_loadd(6, b0 + (size_t)kb * TILE_ELEMENTS, 64);
                    _tile_loadd(7, b1 + (size_t)kb * TILE_ELEMENTS, 64);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                }
            }
            _tile_stored(0, block, 128);
            _tile_stored(1, block + 16, 128);
            int cols = n1 - j < 32 ? n1 - j : 32;
            write_back(block, rows, cols, alpha, beta, c + (size_t)i * ldc + j, ldc);
        }
    }
}
