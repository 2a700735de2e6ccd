/*
 * Variable-time ristretto255 arithmetic for PUBLIC data only: checking the equations of received proofs, summing
 * published ciphertexts. Nothing secret ever reaches this file: keys, nonces and proof randomness stay in
 * libsodium (protocol/ballots/group.py). Every function here is cross-checked against libsodium by
 * tests/protocol/ballots/test_public_arithmetic.py, and protocol/ballots/public_arithmetic.py falls back to
 * libsodium when this module is not built. See docs/decisions.md D84.
 *
 * Field: GF(2^255 - 19), five 51-bit limbs, products in unsigned __int128.
 * Curve: the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 in extended coordinates (X:Y:Z:T), x = X/Z,
 *        y = Y/Z, T = XY/Z, with the addition and doubling formulas of Hisil–Wong–Carter–Dawson (2008).
 * Group: ristretto255 (RFC 9496): decoding, encoding and equality of the quotient group.
 * Multiplication: Straus's interleaved method with width-w NAF digits (variable time, which is the point).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct { uint64_t v[5]; } fe;
typedef struct { fe X, Y, Z, T; } ge;
typedef struct { fe YpX, YmX, Z2, T2d; } ge_cached;

#define MASK51 ((uint64_t)0x7ffffffffffff)

static const uint8_t D_BYTES[32] = {0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00, 0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52};
static const uint8_t D2_BYTES[32] = {0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83, 0x82, 0x9a, 0x14, 0xe0, 0x00, 0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80, 0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24};
static const uint8_t SQRT_M1_BYTES[32] = {0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f, 0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b};
static const uint8_t INVSQRT_A_MINUS_D_BYTES[32] = {0xea, 0x40, 0x5d, 0x80, 0xaa, 0xfd, 0xc8, 0x99, 0xbe, 0x72, 0x41, 0x5a, 0x17, 0x16, 0x2f, 0x9d, 0x40, 0xd8, 0x01, 0xfe, 0x91, 0x7b, 0xc2, 0x16, 0xa2, 0xfc, 0xaf, 0xcf, 0x05, 0x89, 0x6c, 0x78};
/* The ristretto255 base point G (RFC 9496, section 4.4). */
static const uint8_t GENERATOR_BYTES[32] = {0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};

static fe FE_D, FE_D2, FE_SQRT_M1, FE_INVSQRT_A_MINUS_D, FE_ONE, FE_ZERO;

/* ---- the field ---------------------------------------------------------------------------------------- */

static uint64_t load64(const uint8_t *s) {
    uint64_t r = 0;
    for (int i = 7; i >= 0; i--) r = (r << 8) | s[i];
    return r;
}

/* The 255 low bits of s (bit 255 is ignored; callers that must refuse it compare the re-encoding). */
static void fe_frombytes(fe *h, const uint8_t s[32]) {
    h->v[0] = load64(s) & MASK51;
    h->v[1] = (load64(s + 6) >> 3) & MASK51;
    h->v[2] = (load64(s + 12) >> 6) & MASK51;
    h->v[3] = (load64(s + 19) >> 1) & MASK51;
    h->v[4] = (load64(s + 24) >> 12) & MASK51;
}

/* Weak reduction: every limb below 2^51 + 2^13 afterwards. */
static inline void fe_carry(fe *h) {
    uint64_t c;
    c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
    c = h->v[1] >> 51; h->v[1] &= MASK51; h->v[2] += c;
    c = h->v[2] >> 51; h->v[2] &= MASK51; h->v[3] += c;
    c = h->v[3] >> 51; h->v[3] &= MASK51; h->v[4] += c;
    c = h->v[4] >> 51; h->v[4] &= MASK51; h->v[0] += c * 19;
    c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
}

/* The canonical 32-byte little-endian encoding (fully reduced below p). */
static void fe_tobytes(uint8_t s[32], const fe *f) {
    fe h = *f;
    fe_carry(&h);
    fe_carry(&h);
    /* Now h < 2^255 + small; q = 1 exactly when h >= p. */
    uint64_t q = (h.v[0] + 19) >> 51;
    q = (h.v[1] + q) >> 51;
    q = (h.v[2] + q) >> 51;
    q = (h.v[3] + q) >> 51;
    q = (h.v[4] + q) >> 51;
    h.v[0] += 19 * q;
    uint64_t c;
    c = h.v[0] >> 51; h.v[0] &= MASK51; h.v[1] += c;
    c = h.v[1] >> 51; h.v[1] &= MASK51; h.v[2] += c;
    c = h.v[2] >> 51; h.v[2] &= MASK51; h.v[3] += c;
    c = h.v[3] >> 51; h.v[3] &= MASK51; h.v[4] += c;
    h.v[4] &= MASK51;
    uint64_t w0 = h.v[0] | (h.v[1] << 51);
    uint64_t w1 = (h.v[1] >> 13) | (h.v[2] << 38);
    uint64_t w2 = (h.v[2] >> 26) | (h.v[3] << 25);
    uint64_t w3 = (h.v[3] >> 39) | (h.v[4] << 12);
    uint64_t w[4] = {w0, w1, w2, w3};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

/* The bounds, which every caller keeps: fe_carry, fe_mul, fe_sq and fe_neg leave limbs below 2^51 + 2^19
 * ("reduced"). fe_sub(f, g) needs g's limbs below 2^53 - 76 (reduced, or the fe_add of two reduced values) and
 * leaves f's limbs plus at most 2^53; ge_double chains two subtractions, so the largest limb any product sees is
 * about 2^54.2, and fe_mul and fe_sq take up to 2^54.5 without overflow (sums below 2^116 in 128 bits).
 * Additions and subtractions do not carry: that is most of a doubling's time otherwise. An independent review
 * measured these bounds with an instrumented build (docs/decisions.md D84). */
static inline void fe_add(fe *h, const fe *f, const fe *g) {
    for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
}

/* f - g + 4p; g must be reduced or the fe_add of two reduced values (limbs below 2^53 - 76). */
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
    h->v[0] = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
    h->v[1] = f->v[1] + 0x1ffffffffffffcULL - g->v[1];
    h->v[2] = f->v[2] + 0x1ffffffffffffcULL - g->v[2];
    h->v[3] = f->v[3] + 0x1ffffffffffffcULL - g->v[3];
    h->v[4] = f->v[4] + 0x1ffffffffffffcULL - g->v[4];
}

/* -f, reduced (its result may be any later subtraction's second operand). */
static inline void fe_neg(fe *h, const fe *f) {
    fe_sub(h, &FE_ZERO, f);
    fe_carry(h);
}

static inline void fe_reduce_wide(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
    r1 += r0 >> 51;
    r2 += r1 >> 51;
    r3 += r2 >> 51;
    r4 += r3 >> 51;
    u128 low = (r4 >> 51) * 19 + ((uint64_t)r0 & MASK51);
    h->v[0] = (uint64_t)low & MASK51;
    h->v[1] = ((uint64_t)r1 & MASK51) + (uint64_t)(low >> 51);
    h->v[2] = (uint64_t)r2 & MASK51;
    h->v[3] = (uint64_t)r3 & MASK51;
    h->v[4] = (uint64_t)r4 & MASK51;
}

static inline void fe_mul(fe *h, const fe *f, const fe *g) {
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
    u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
    u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
    u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
    u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
    fe_reduce_wide(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(fe *h, const fe *f) {
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f3_19 = 19 * f3, f4_19 = 19 * f4;
    u128 r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)(2 * f2) * f3_19;
    u128 r1 = (u128)f0_2 * f1 + (u128)(2 * f2) * f4_19 + (u128)f3 * f3_19;
    u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)(2 * f3) * f4_19;
    u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
    u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
    fe_reduce_wide(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe *h, const fe *f, int n) {
    fe_sq(h, f);
    for (int i = 1; i < n; i++) fe_sq(h, h);
}

/* z^(2^250 - 1), on the way to z^((p-5)/8). */
static void fe_pow_2_250_1(fe *out, const fe *z) {
    fe t0, t1, t2, t3;
    fe_sq(&t0, z);                 /* z^2 */
    fe_sqn(&t1, &t0, 2);           /* z^8 */
    fe_mul(&t1, &t1, z);           /* z^9 */
    fe_mul(&t0, &t0, &t1);         /* z^11 */
    fe_sq(&t2, &t0);               /* z^22 */
    fe_mul(&t1, &t1, &t2);         /* z^31 = z^(2^5 - 1) */
    fe_sqn(&t2, &t1, 5);
    fe_mul(&t1, &t2, &t1);         /* z^(2^10 - 1) */
    fe_sqn(&t2, &t1, 10);
    fe_mul(&t2, &t2, &t1);         /* z^(2^20 - 1) */
    fe_sqn(&t3, &t2, 20);
    fe_mul(&t2, &t3, &t2);         /* z^(2^40 - 1) */
    fe_sqn(&t2, &t2, 10);
    fe_mul(&t1, &t2, &t1);         /* z^(2^50 - 1) */
    fe_sqn(&t2, &t1, 50);
    fe_mul(&t2, &t2, &t1);         /* z^(2^100 - 1) */
    fe_sqn(&t3, &t2, 100);
    fe_mul(&t2, &t3, &t2);         /* z^(2^200 - 1) */
    fe_sqn(&t2, &t2, 50);
    fe_mul(out, &t2, &t1);         /* z^(2^250 - 1) */
}

/* z^((p - 5) / 8) = z^(2^252 - 3). */
static void fe_pow22523(fe *out, const fe *z) {
    fe t;
    fe_pow_2_250_1(&t, z);
    fe_sqn(&t, &t, 2);
    fe_mul(out, &t, z);
}

static int fe_is_negative(const fe *f) {
    uint8_t s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static int fe_is_zero(const fe *f) {
    static const uint8_t zero[32];
    uint8_t s[32];
    fe_tobytes(s, f);
    return memcmp(s, zero, 32) == 0;
}

static int fe_equal(const fe *f, const fe *g) {
    uint8_t s[32], t[32];
    fe_tobytes(s, f);
    fe_tobytes(t, g);
    return memcmp(s, t, 32) == 0;
}

static void fe_abs(fe *h, const fe *f) {
    if (fe_is_negative(f)) fe_neg(h, f); else *h = *f;
}

/* RFC 9496 section 4.2, SQRT_RATIO_M1: returns whether u/v was square; r = the non-negative root. */
static int fe_sqrt_ratio_m1(fe *r, const fe *u, const fe *v) {
    fe v2, v3, v7, uv3, uv7, t, check, neg_u, neg_u_i, r_prime;
    fe_sq(&v2, v);
    fe_mul(&v3, &v2, v);
    fe_sq(&t, &v3);
    fe_mul(&v7, &t, v);
    fe_mul(&uv3, u, &v3);
    fe_mul(&uv7, u, &v7);
    fe_pow22523(&t, &uv7);
    fe_mul(r, &uv3, &t);
    fe_sq(&t, r);
    fe_mul(&check, v, &t);
    fe_neg(&neg_u, u);
    fe_mul(&neg_u_i, &neg_u, &FE_SQRT_M1);
    int correct = fe_equal(&check, u);
    int flipped = fe_equal(&check, &neg_u);
    int flipped_i = fe_equal(&check, &neg_u_i);
    if (flipped || flipped_i) {
        fe_mul(&r_prime, &FE_SQRT_M1, r);
        *r = r_prime;
    }
    fe_abs(r, r);
    return correct || flipped;
}

/* ---- the curve ---------------------------------------------------------------------------------------- */

static void ge_identity(ge *p) {
    p->X = FE_ZERO; p->Y = FE_ONE; p->Z = FE_ONE; p->T = FE_ZERO;
}

static void ge_to_cached(ge_cached *c, const ge *p) {
    fe_add(&c->YpX, &p->Y, &p->X);
    fe_sub(&c->YmX, &p->Y, &p->X);
    fe_add(&c->Z2, &p->Z, &p->Z);
    fe_mul(&c->T2d, &p->T, &FE_D2);
}

/* r = p + q (negate = 0) or p - q (negate = 1); add-2008-hwcd-3 with k = 2d. */
static inline void ge_add_cached(ge *r, const ge *p, const ge_cached *q, int negate) {
    fe a, b, c, d, e, f, g, h, ymx, ypx;
    fe_sub(&ymx, &p->Y, &p->X);
    fe_add(&ypx, &p->Y, &p->X);
    fe_mul(&a, &ymx, negate ? &q->YpX : &q->YmX);
    fe_mul(&b, &ypx, negate ? &q->YmX : &q->YpX);
    fe_mul(&c, &p->T, &q->T2d);
    fe_mul(&d, &p->Z, &q->Z2);
    fe_sub(&e, &b, &a);
    fe_add(&h, &b, &a);
    if (negate) { fe_add(&f, &d, &c); fe_sub(&g, &d, &c); }
    else { fe_sub(&f, &d, &c); fe_add(&g, &d, &c); }
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    fe_mul(&r->T, &e, &h);
    fe_mul(&r->Z, &f, &g);
}

/* r = 2p; dbl-2008-hwcd with a = -1. T is computed only when with_t (the next step is an addition). */
static inline void ge_double(ge *r, const ge *p, int with_t) {
    fe a, b, c, e, g, f, h, t;
    fe_sq(&a, &p->X);
    fe_sq(&b, &p->Y);
    fe_sq(&c, &p->Z);
    fe_add(&c, &c, &c);
    fe_add(&t, &p->X, &p->Y);
    fe_sq(&e, &t);
    fe_sub(&e, &e, &a);
    fe_sub(&e, &e, &b);          /* E = 2XY */
    fe_sub(&g, &b, &a);          /* G = -A + B */
    fe_sub(&f, &g, &c);          /* F = G - C */
    fe_add(&h, &a, &b);
    fe_neg(&h, &h);              /* H = -A - B */
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    if (with_t) fe_mul(&r->T, &e, &h);
    fe_mul(&r->Z, &f, &g);
}

/* ---- ristretto255 (RFC 9496) -------------------------------------------------------------------------- */

/* Section 4.3.1: 0 and the point for a valid canonical encoding, -1 otherwise. */
static int ristretto_decode(ge *p, const uint8_t s_bytes[32]) {
    fe s, ss, u1, u2, u2_sqr, v, t, invsqrt, den_x, den_y, x, y;
    uint8_t check[32];
    fe_frombytes(&s, s_bytes);
    fe_tobytes(check, &s);
    if (memcmp(check, s_bytes, 32) != 0) return -1;   /* not canonical (s >= p, or bit 255 set) */
    if (s_bytes[0] & 1) return -1;                     /* s is negative */
    fe_sq(&ss, &s);
    fe_sub(&u1, &FE_ONE, &ss);
    fe_add(&u2, &FE_ONE, &ss);
    fe_sq(&u2_sqr, &u2);
    fe_sq(&t, &u1);
    fe_mul(&t, &FE_D, &t);
    fe_neg(&t, &t);
    fe_sub(&v, &t, &u2_sqr);                           /* v = -(D * u1^2) - u2^2 */
    fe_mul(&t, &v, &u2_sqr);
    int was_square = fe_sqrt_ratio_m1(&invsqrt, &FE_ONE, &t);
    fe_mul(&den_x, &invsqrt, &u2);
    fe_mul(&den_y, &invsqrt, &den_x);
    fe_mul(&den_y, &den_y, &v);
    fe_add(&t, &s, &s);
    fe_mul(&x, &t, &den_x);
    fe_abs(&x, &x);
    fe_mul(&y, &u1, &den_y);
    fe_mul(&t, &x, &y);
    if (!was_square || fe_is_negative(&t) || fe_is_zero(&y)) return -1;
    p->X = x; p->Y = y; p->Z = FE_ONE; p->T = t;
    return 0;
}

/* Section 4.3.2. */
static void ristretto_encode(uint8_t out[32], const ge *p) {
    fe u1, u2, t, invsqrt, den1, den2, z_inv, ix0, iy0, enchanted, x, y, den_inv, s;
    fe_add(&t, &p->Z, &p->Y);
    fe_sub(&u1, &p->Z, &p->Y);
    fe_mul(&u1, &t, &u1);                              /* (Z + Y)(Z - Y) */
    fe_mul(&u2, &p->X, &p->Y);
    fe_sq(&t, &u2);
    fe_mul(&t, &u1, &t);
    fe_sqrt_ratio_m1(&invsqrt, &FE_ONE, &t);
    fe_mul(&den1, &invsqrt, &u1);
    fe_mul(&den2, &invsqrt, &u2);
    fe_mul(&z_inv, &den1, &den2);
    fe_mul(&z_inv, &z_inv, &p->T);
    fe_mul(&ix0, &p->X, &FE_SQRT_M1);
    fe_mul(&iy0, &p->Y, &FE_SQRT_M1);
    fe_mul(&enchanted, &den1, &FE_INVSQRT_A_MINUS_D);
    fe_mul(&t, &p->T, &z_inv);
    if (fe_is_negative(&t)) { x = iy0; y = ix0; den_inv = enchanted; }
    else { x = p->X; y = p->Y; den_inv = den2; }
    fe_mul(&t, &x, &z_inv);
    if (fe_is_negative(&t)) fe_neg(&y, &y);
    fe_sub(&t, &p->Z, &y);
    fe_mul(&s, &den_inv, &t);
    fe_abs(&s, &s);
    fe_tobytes(out, &s);
}

/* ---- multi-scalar multiplication ---------------------------------------------------------------------- */

#define NAF_LEN 264                       /* 256 bits, and a carry past a last window of up to 8 */
#define VAR_WIDTH 5                       /* odd multiples 1..15 of a point decoded per call */
#define BASE_WIDTH 8                      /* odd multiples 1..127 of G, built once */
#define VAR_TABLE (1 << (VAR_WIDTH - 2))
#define BASE_TABLE (1 << (BASE_WIDTH - 2))

static ge_cached BASE_MULTIPLES[BASE_TABLE];

/* Width-w NAF of a 256-bit little-endian scalar: digits odd and below 2^(w-1) in absolute value, or zero;
 * any w consecutive digits hold at most one non-zero. Returns the length used (the top non-zero digit + 1). */
static int scalar_naf(int8_t naf[NAF_LEN], const uint8_t k[32], int w) {
    memset(naf, 0, NAF_LEN);
    int carry = 0, top = 0, i = 0;
    const int window_mask = (1 << w) - 1;
    while (i < 256) {
        int bit = (k[i >> 3] >> (i & 7)) & 1;
        if (bit == carry) { i++; continue; }
        /* The w bits from position i, plus the carry: odd by the test above. */
        int byte = i >> 3, shift = i & 7;
        unsigned chunk = k[byte];
        if (byte + 1 < 32) chunk |= (unsigned)k[byte + 1] << 8;
        if (byte + 2 < 32) chunk |= (unsigned)k[byte + 2] << 16;
        int window = (int)((chunk >> shift) & (unsigned)window_mask) + carry;
        int digit = window;
        if (window & (1 << (w - 1))) { digit = window - (1 << w); carry = 1; } else carry = 0;
        naf[i] = (int8_t)digit;
        top = i + 1;
        i += w;
    }
    if (carry) { naf[i] = 1; top = i + 1; }
    return top;
}

static void odd_multiples(ge_cached *table, int count, const ge *p) {
    ge twice, acc;
    ge_double(&twice, p, 1);
    ge_cached twice_c;
    ge_to_cached(&twice_c, &twice);
    acc = *p;
    ge_to_cached(&table[0], &acc);
    for (int i = 1; i < count; i++) {
        ge_add_cached(&acc, &acc, &twice_c, 0);
        ge_to_cached(&table[i], &acc);
    }
}

typedef struct {
    int8_t naf[NAF_LEN];
    int len;
    const ge_cached *table;
} term;

/* r = sum of the terms (Straus: one chain of doublings shared by every term). */
static void straus(ge *r, term *terms, int n) {
    int top = 0;
    for (int j = 0; j < n; j++) if (terms[j].len > top) top = terms[j].len;
    ge_identity(r);
    for (int i = top - 1; i >= 0; i--) {
        int adds = 0;
        for (int j = 0; j < n; j++) if (terms[j].naf[i]) adds = 1;
        if (i != top - 1) ge_double(r, r, adds || i == 0);  /* the result needs T */
        for (int j = 0; j < n; j++) {
            int d = terms[j].naf[i];
            if (d > 0) ge_add_cached(r, r, &terms[j].table[d >> 1], 0);
            else if (d < 0) ge_add_cached(r, r, &terms[j].table[(-d) >> 1], 1);
        }
    }
}

/* ---- decoded points, remembered -------------------------------------------------------------------------
 * A received point is decoded when it is validated (is_valid_point) and again when its proof's equations are
 * checked (msm): the decoding (an inverse square root) is a third of the work. A direct-mapped table keeps the
 * last decodings, keyed by the whole encoding, so the second is a copy. Only valid points are kept; the mapping
 * from an encoding to its point never changes, so an entry is never stale. The GIL is held throughout. */

#define DECODED_SLOTS 2048

typedef struct {
    uint8_t encoding[32];
    ge point;
    int used;
} decoded_slot;

static decoded_slot DECODED[DECODED_SLOTS];

static int decode_remembered(ge *p, const uint8_t s[32]) {
    /* Bytes 1 and 2 of a valid encoding are as good as random (byte 0's low bit is always 0). */
    decoded_slot *slot = &DECODED[(s[1] | ((unsigned)s[2] << 8)) & (DECODED_SLOTS - 1)];
    if (slot->used && memcmp(slot->encoding, s, 32) == 0) {
        *p = slot->point;
        return 0;
    }
    if (ristretto_decode(p, s) < 0) return -1;
    memcpy(slot->encoding, s, 32);
    slot->point = *p;
    slot->used = 1;
    return 0;
}

/* ---- Python bindings ---------------------------------------------------------------------------------- */

static int get32(PyObject *obj, const uint8_t **out, const char *what) {
    if (!PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be bytes, not %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyBytes_GET_SIZE(obj) != 32) {
        PyErr_Format(PyExc_ValueError, "%s must be 32 bytes", what);
        return -1;
    }
    *out = (const uint8_t *)PyBytes_AS_STRING(obj);
    return 0;
}

/* remember: look the point up in, and keep it in, the table of recent decodings (not for sums of many distinct
 * points, which would only push out a ballot's points between their validation and their check). */
static int decode_arg(ge *p, PyObject *obj, const char *what, int remember) {
    const uint8_t *bytes;
    if (get32(obj, &bytes, what) < 0) return -1;
    if ((remember ? decode_remembered(p, bytes) : ristretto_decode(p, bytes)) < 0) {
        PyErr_Format(PyExc_ValueError, "%s is not a valid ristretto255 point", what);
        return -1;
    }
    return 0;
}

static PyObject *encoded(const ge *p) {
    uint8_t out[32];
    ristretto_encode(out, p);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *py_is_valid_point(PyObject *Py_UNUSED(self), PyObject *arg) {
    const uint8_t *bytes;
    ge p;
    if (get32(arg, &bytes, "a point") < 0) return NULL;
    return PyBool_FromLong(decode_remembered(&p, bytes) == 0);
}

/* msm([(scalar, point), ...]) -> the encoding of the sum of scalar * point. */
static PyObject *py_msm(PyObject *Py_UNUSED(self), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "msm takes a sequence of (scalar, point) pairs");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > INT_MAX / 2) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_OverflowError, "too many terms");
        return NULL;
    }
    term *terms = PyMem_Calloc(n ? n : 1, sizeof(term));
    ge_cached *tables = PyMem_Calloc(n ? n : 1, sizeof(ge_cached) * VAR_TABLE);
    PyObject *result = NULL;
    if (terms == NULL || tables == NULL) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, j);
        const uint8_t *scalar, *point_bytes;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_ValueError, "msm takes (scalar, point) pairs");
            goto done;
        }
        if (get32(PyTuple_GET_ITEM(pair, 0), &scalar, "a scalar") < 0) goto done;
        if (get32(PyTuple_GET_ITEM(pair, 1), &point_bytes, "a point") < 0) goto done;
        if (memcmp(point_bytes, GENERATOR_BYTES, 32) == 0) {
            terms[j].len = scalar_naf(terms[j].naf, scalar, BASE_WIDTH);
            terms[j].table = BASE_MULTIPLES;
        } else {
            ge p;
            if (decode_arg(&p, PyTuple_GET_ITEM(pair, 1), "a point", 1) < 0) goto done;
            odd_multiples(&tables[j * VAR_TABLE], VAR_TABLE, &p);
            terms[j].len = scalar_naf(terms[j].naf, scalar, VAR_WIDTH);
            terms[j].table = &tables[j * VAR_TABLE];
        }
    }
    ge r;
    straus(&r, terms, (int)n);
    result = encoded(&r);
done:
    PyMem_Free(terms);
    PyMem_Free(tables);
    Py_DECREF(seq);
    return result;
}

/* sum_points([point, ...]) -> the encoding of their sum (the identity, 32 zero bytes, for none). */
static PyObject *py_sum_points(PyObject *Py_UNUSED(self), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "sum_points takes a sequence of points");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    ge acc, p;
    ge_cached c;
    int remember = n <= 64;  /* a ballot's own ciphertexts (just validated), not a tally's many distinct points */
    ge_identity(&acc);
    static const uint8_t identity[32];
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, j);
        const uint8_t *bytes;
        if (get32(item, &bytes, "a point") < 0) { Py_DECREF(seq); return NULL; }
        if (memcmp(bytes, identity, 32) == 0) continue;
        if (decode_arg(&p, item, "a point", remember) < 0) { Py_DECREF(seq); return NULL; }
        ge_to_cached(&c, &p);
        ge_add_cached(&acc, &acc, &c, 0);
    }
    Py_DECREF(seq);
    return encoded(&acc);
}

static PyMethodDef methods[] = {
    {"is_valid_point", py_is_valid_point, METH_O, "Whether 32 bytes are a canonical ristretto255 encoding (not the identity's test: 0 is valid)."},
    {"msm", py_msm, METH_O, "The encoding of the sum of scalar*point over (scalar, point) pairs; variable time."},
    {"sum_points", py_sum_points, METH_O, "The encoding of the sum of the points."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_public_arithmetic",
    "Variable-time ristretto255 arithmetic for public data (see protocol/ballots/public_arithmetic.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__public_arithmetic(void) {
    memset(&FE_ZERO, 0, sizeof FE_ZERO);
    memset(&FE_ONE, 0, sizeof FE_ONE);
    FE_ONE.v[0] = 1;
    fe_frombytes(&FE_D, D_BYTES);
    fe_frombytes(&FE_D2, D2_BYTES);
    fe_frombytes(&FE_SQRT_M1, SQRT_M1_BYTES);
    fe_frombytes(&FE_INVSQRT_A_MINUS_D, INVSQRT_A_MINUS_D_BYTES);
    ge generator;
    if (ristretto_decode(&generator, GENERATOR_BYTES) < 0) {
        PyErr_SetString(PyExc_ImportError, "the base point does not decode: the field arithmetic is broken");
        return NULL;
    }
    odd_multiples(BASE_MULTIPLES, BASE_TABLE, &generator);
    return PyModule_Create(&module);
}
