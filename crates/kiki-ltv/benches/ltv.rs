//! Criterion benchmarks on CDNOW (2,357 customers): the BG/NBD and
//! Pareto/NBD log-likelihood over the collapsed data, full fits, and batch
//! prediction. Speed targets live here, not in tests.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use kiki_ltv::{
    FitOptions, GammaGamma, ModelKind, ModelParams, PredictOptions, RfmRow, SummaryCsvOptions,
    TimeUnit, fit, parse_summary_csv, predict_batch, total_log_likelihood,
};

fn cdnow() -> Vec<kiki_ltv::CustomerSummary> {
    let opts = SummaryCsvOptions {
        customer_id: "ID".into(),
        frequency: "x".into(),
        recency: "t_x".into(),
        monetary: "zbar".into(),
        ..SummaryCsvOptions::default()
    };
    let text = include_str!("../tests/fixtures/cdnow_customers_summary_with_transactions.csv");
    parse_summary_csv(text.as_bytes(), &opts).expect("the fixture parses")
}

fn benches(c: &mut Criterion) {
    let customers = cdnow();
    let rows: Vec<RfmRow> = customers.iter().map(RfmRow::from).collect();
    let options = FitOptions {
        time_unit: TimeUnit::Weeks,
        ..FitOptions::default()
    };
    let bg =
        ModelParams::from_values(ModelKind::BgNbd, [0.243, 4.414, 0.793, 2.426]).expect("valid");
    let pareto = ModelParams::from_values(ModelKind::ParetoNbd, [0.553, 10.578, 0.606, 11.669])
        .expect("valid");

    c.bench_function("bgnbd_log_likelihood_cdnow", |b| {
        b.iter(|| total_log_likelihood(black_box(&bg), black_box(&rows)))
    });
    c.bench_function("pareto_log_likelihood_cdnow", |b| {
        b.iter(|| total_log_likelihood(black_box(&pareto), black_box(&rows)))
    });
    c.bench_function("bgnbd_fit_cdnow", |b| {
        b.iter(|| {
            fit(
                ModelKind::BgNbd,
                black_box(&customers),
                &options,
                &mut |_| {},
            )
        })
    });
    let mut slow = c.benchmark_group("slow");
    slow.sample_size(10);
    slow.bench_function("pareto_fit_cdnow", |b| {
        b.iter(|| {
            fit(
                ModelKind::ParetoNbd,
                black_box(&customers),
                &options,
                &mut |_| {},
            )
        })
    });
    slow.finish();
    let model = fit(ModelKind::BgNbd, &customers, &options, &mut |_| {}).expect("fits");
    let spend = GammaGamma::fit(&customers, &options, &mut |_| {}).expect("fits");
    c.bench_function("gamma_gamma_fit_cdnow", |b| {
        b.iter(|| GammaGamma::fit(black_box(&customers), &options, &mut |_| {}))
    });
    c.bench_function("bgnbd_predict_batch_cdnow", |b| {
        b.iter(|| {
            predict_batch(
                &model,
                Some(&spend),
                black_box(&customers),
                &PredictOptions::default(),
            )
        })
    });
}

criterion_group!(ltv, benches);
criterion_main!(ltv);
