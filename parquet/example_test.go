package parquet_test

import (
	"fmt"
	"os"

	"github.com/vaejob/vaejob/parquet"
)

func ExampleParseColumnList() {
	names, err := parquet.ParseColumnList("mean_radius, worst_area,texture_error")
	fmt.Println(names, err)

	_, err = parquet.ParseColumnList("a,b,a")
	fmt.Println(err)
	// Output:
	// [mean_radius worst_area texture_error] <nil>
	// usage error: column list "a,b,a": column "a" is listed twice; list each column once
}

func ExampleWriteScores() {
	score := []float32{0.25, 3.5}
	isAnomaly := []bool{false, true}
	if err := parquet.WriteScores(os.Stdout, parquet.FormatForPath("scores.csv"), nil, score, isAnomaly); err != nil {
		fmt.Println(err)
	}
	// Output:
	// score,is_anomaly
	// 0.25,false
	// 3.5,true
}
